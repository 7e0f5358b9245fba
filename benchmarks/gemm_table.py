#!/usr/bin/env python3
"""Runs bench_gemm (benchmarks/ops/bench_gemm.cpp) and prints our GEMM against Eigen's (the faster of
its two builds in each row: for this machine's best vector instructions, and for the project's
x86-64-v3 baseline; benchmarks/ops/eigen_gemm.hpp) and, with --torch, PyTorch's F.linear, in GFLOP/s
per shape and thread count, with the fraction of the ceiling
measured in the same run: the f32 FMA peak for f32 products, for bf16 ones the AMX TDPBF16PS peak
on the amx path and the vdpbf16ps peak elsewhere.
Rows: f32 products with f32 or bf16 weights (compared with Eigen and torch f32), and bf16 products
(Precision::bf16, bf16 weights packed per call, or once beforehand as a model's are with prepacking;
compared with torch bf16); f32 products with B packed once, and their tile loops alone (A and B
packed beforehand: BM_gemm_f32_tiles; with C in transparent huge pages: BM_gemm_f32_tiles_huge_c);
where the filter selects them, the f32 GEMM with other K and N blocks (BM_gemm_f32_blocking/kcK_ncN), the amx kernel in each tile schedule (BM_gemm_amx_schedule/S, B packed once) and the amx GEMM with other K and N blocks
(BM_gemm_amx_blocking/kcK_ncN, B per call; _packed, once), and with a bias, or a bias and GELU
(BM_gemm_amx_epilogue/E, B packed once).

Two tables: rates from wall time, and from the process's CPU time (× threads), which time taken by
other programs on a shared machine does not inflate (but threads that spin while waiting for a
descheduled partner do: Eigen's and PyTorch's OpenMP threads spin). Medians over --repetitions runs
(or, with --stat best, the fastest run: on a shared machine, the least disturbed one); the ceilings
(the *_peak rows) are always the fastest run. The repetitions of all benchmarks are interleaved at
random, so that noise hits every column alike. Rows whose weights are packed before the timing get no
Eigen ratio (Eigen packs on every call). After the wall-time table, issue #2's two targets are checked
at 2 threads: ours f32 ≥ 1.3× Eigen at each of its four shapes, and f32 products on bf16 weights within
10% of f32 weights; each line says PASS or FAIL and the ratios.
PyTorch runs after bench_gemm, in one process per thread count, same shapes, same clocks.

Usage: python3 benchmarks/gemm_table.py [--binary build/benchmarks/ops/bench_gemm]
                                        [--repetitions 5] [--min-time 0.5] [--filter REGEX]
                                        [--isa avx2|avx512|avx512_bf16|amx]   (forces our path: INTERNVL_CPU_ISA)
                                        [--stat median|best|both] [--torch]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

NAME = re.compile(r"BM_(?P<what>[\w/]+?)(?:/M:(?P<m>\d+)/K:(?P<k>\d+)/N:(?P<n>\d+))?/threads:(?P<threads>\d+)")
# Issue #2's shapes and targets, checked from the wall-time table at 2 threads.
TARGET_SHAPES = [(257, 1024, 3072), (1025, 1024, 4096), (1025, 3200, 9600), (257, 3200, 12800)]
TARGET_THREADS, EIGEN_TARGET, BF16_WEIGHTS_TARGET = 2, 1.3, 0.9
# Rows whose weights (or A and B) are packed before the timing: Eigen packs on every call, so no ratio.
PACKED_BEFOREHAND = {"gemm_ours_f32_prepacked", "gemm_f32_tiles", "gemm_f32_tiles_huge_c"}
ROWS = [("gemm_ours_f32", "f32, f32 B", "fma_peak", "f32"), ("gemm_ours_bf16", "f32, bf16 B", "fma_peak", "f32"),
        ("gemm_ours_bf16c", "bf16, bf16 B", "dpbf16_peak", "bf16"),
        ("gemm_ours_bf16c_prepacked", "bf16, B packed", "dpbf16_peak", "bf16"),
        ("gemm_ours_f32_prepacked", "f32, B packed", "fma_peak", "f32"),
        ("gemm_f32_tiles", "f32, tile loops only", "fma_peak", "f32"),
        ("gemm_f32_tiles_huge_c", "f32, tiles, huge C pages", "fma_peak", "f32")]

TORCH_SCRIPT = r"""
import json, sys, time, torch
shapes, threads, repetitions, min_time = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
torch.set_num_threads(threads)
out = {}
for dtype_name, dtype in [("f32", torch.float32), ("bf16", torch.bfloat16)]:
    for m, k, n in shapes:
        x, w = torch.rand(m, k, dtype=dtype) * 2 - 1, torch.rand(n, k, dtype=dtype) * 2 - 1
        with torch.inference_mode():
            torch.nn.functional.linear(x, w)
            runs = []
            for _ in range(repetitions):
                iterations, wall, cpu = 0, 0.0, 0.0
                while wall < min_time or iterations == 0:
                    t, c = time.perf_counter(), time.process_time()
                    torch.nn.functional.linear(x, w)
                    wall, cpu, iterations = wall + time.perf_counter() - t, cpu + time.process_time() - c, iterations + 1
                runs.append((2.0 * m * n * k * iterations / wall * 1e-9, 2.0 * m * n * k * iterations / cpu * 1e-9 * threads))
        out[f"{dtype_name}/{m}/{k}/{n}"] = runs
print(json.dumps(out))
"""


def transparent_huge_pages():
    """The kernel's THP mode (always, madvise or never), or "unknown"."""
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return re.search(r"\[(\w+)\]", f.read()).group(1)
    except (OSError, AttributeError):
        return "unknown"


def run(binary, repetitions, min_time, name_filter, isa):
    env = dict(os.environ, OMP_WAIT_POLICY="passive")  # idle Eigen (OpenMP) threads must not spin
    if isa:
        env["INTERNVL_CPU_ISA"] = isa
    cmd = [binary, "--benchmark_format=json", f"--benchmark_repetitions={repetitions}",
           "--benchmark_enable_random_interleaving=true", f"--benchmark_min_time={min_time}",
           f"--benchmark_filter={name_filter}"]
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out)


def pick(runs, stat):
    """(wall, CPU) rate of a list of (wall, CPU) rates: per clock, the median or the best"""
    f = statistics.median if stat == "median" else max
    return f(r[0] for r in runs), f(r[1] for r in runs)


def summarise(report, stat):
    """{(what, shape or None, threads): (GFLOP/s of wall time, GFLOP/s of CPU time × threads)},
    the median or the best of the repetitions"""
    runs = {}
    for b in report["benchmarks"]:
        if "GFLOP/s" not in b or b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        m = NAME.match(b["run_name"])
        if m is None:  # not a product or a peak (BM_microkernel): not in the table
            continue
        threads = int(m["threads"])
        key = (m["what"], (int(m["m"]), int(m["k"]), int(m["n"])) if m["m"] else None, threads)
        # The process's CPU time counts only the time its threads ran: time taken by other programs
        # on a shared machine drops out (waiting for one another does too, so this flatters scaling).
        runs.setdefault(key, []).append((b["GFLOP/s"], b["GFLOP/s"] * b["real_time"] / b["cpu_time"] * threads))
    return {key: pick(r, "best" if key[0].endswith("_peak") else stat) for key, r in runs.items()}


def torch_rates(shapes, threads_list, repetitions, min_time):
    """{(dtype, shape, threads): [(wall, CPU) rate per repetition]} of torch.nn.functional.linear"""
    rates = {}
    for threads in threads_list:
        cmd = [sys.executable, "-c", TORCH_SCRIPT, json.dumps(shapes), str(threads), str(repetitions), str(min_time)]
        out = json.loads(subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout.splitlines()[-1])
        for key, runs in out.items():
            dtype, m, k, n = key.split("/")
            rates[(dtype, (int(m), int(k), int(n)), threads)] = runs
    return rates


def best_eigen(table, shape, threads, clock):
    """(rate, build) of the faster of Eigen's two builds (eigen_gemm.hpp) at this clock: n, built with
    -march=native; b, built for the project's x86-64-v3 baseline. None if neither ran."""
    builds = [(rates[clock], tag) for what, tag in (("gemm_eigen", "n"), ("gemm_eigen_baseline", "b"))
              if (rates := table.get((what, shape, threads))) is not None]
    return max(builds) if builds else None


def rows(table):
    """ROWS, then a row for each variant in the table: the f32 GEMM with other K and N blocks
    (BM_gemm_f32_blocking/kcK_ncN, against Eigen like the f32 rows), and the amx GEMM's: the kernel in each
    tile schedule (BM_gemm_amx_schedule/S), other K and N blocks (BM_gemm_amx_blocking/kcK_ncN[_packed]) and
    the epilogues (BM_gemm_amx_epilogue/bias, /bias_gelu)"""
    f32 = sorted({what for (what, _, _) in table if what.startswith("gemm_f32_blocking/")})
    amx = sorted({what for (what, _, _) in table
                  if what.startswith(("gemm_amx_schedule/", "gemm_amx_blocking/", "gemm_amx_epilogue/"))})
    return (ROWS + [(what, "f32 " + what.split("/")[1], "fma_peak", "f32") for what in f32]
            + [(what, "amx " + what.split("/")[1], "dpbf16_peak", "bf16") for what in amx])


def print_targets(table):
    """Issue #2's targets from the wall-time rates at TARGET_THREADS: a PASS or FAIL line each, with the
    ratio at every shape (a shape that did not run is missing, which fails the target)."""
    eigen, bf16 = [], []
    for shape in TARGET_SHAPES:
        ours = table.get(("gemm_ours_f32", shape, TARGET_THREADS))
        theirs = best_eigen(table, shape, TARGET_THREADS, 0)
        weights = table.get(("gemm_ours_bf16", shape, TARGET_THREADS))
        name = "x".join(map(str, shape))
        eigen.append((name, ours[0] / theirs[0] if ours and theirs else None))
        bf16.append((name, weights[0] / ours[0] if ours and weights else None))
    for what, ratios, target in [(f"ours f32 / Eigen >= {EIGEN_TARGET}", eigen, EIGEN_TARGET),
                                 (f"f32 on bf16 weights / on f32 weights >= {BF16_WEIGHTS_TARGET}", bf16,
                                  BF16_WEIGHTS_TARGET)]:
        ok = all(r is not None and r >= target for _, r in ratios)
        cells = ", ".join(f"{name} {r:.2f}" if r is not None else f"{name} not run" for name, r in ratios)
        print(f"\ntarget, wall time, {TARGET_THREADS} threads: {what}: {'PASS' if ok else 'FAIL'} ({cells})", end="")
    print()


def print_table(table, torch, stat, isa):
    peaks = {(what, t): v for (what, _, t), v in table.items() if what.endswith("_peak")}
    bf16_peak = "amx_peak" if isa == "amx" else "dpbf16_peak"
    print(f"\n{stat} of the repetitions; ceilings (the fastest run) in GFLOP/s (wall, CPU time): " + "; ".join(
        f"{what} {t} thread{'s' if t > 1 else ''} {v[0]:.1f}, {v[1]:.1f}" for (what, t), v in sorted(peaks.items())))
    one, two = peaks.get(("fma_peak", 1)), peaks.get(("fma_peak", 2))
    if one and two and two[0] < 1.9 * one[0]:
        print(f"warning: the 2-thread FMA ceiling is {two[0] / one[0]:.2f}x the 1-thread one: the two threads did "
              "not run side by side throughout (a shared or throttled machine); fractions of the 2-thread peak "
              "are overstated")
    shapes = sorted({(s, t) for (what, s, t) in table if s is not None}, key=lambda st: (st[1], st[0][0] * st[0][1] * st[0][2]))
    for clock, name in [(0, "wall time"), (1, "the process's CPU time x threads")]:
        print(f"\nGFLOP/s of {name} (Eigen: the faster of its builds, n = -march=native, b = x86-64-v3)\n")
        columns = [f"{'product':<24}", f"{'M x K x N':<15}", "threads", "ours   ", "of peak", "Eigen f32  ", "ours/Eigen",
                   f"{'torch':<12}", "ours/torch"]
        print("| " + " | ".join(columns) + " |")
        print("|" + "|".join("-" * (len(c) + 2) for c in columns) + "|")
        for shape, threads in shapes:
            eigen = best_eigen(table, shape, threads, clock)
            for what, label, peak_name, torch_dtype in rows(table):
                ours = table.get((what, shape, threads))
                if ours is None:
                    continue
                peak = peaks.get((bf16_peak if peak_name == "dpbf16_peak" else peak_name, threads))
                theirs = torch.get((torch_dtype, shape, threads))
                torch_rate = pick(theirs, stat)[clock] if theirs else None
                use_eigen = eigen is not None and torch_dtype == "f32"
                comparable = use_eigen and what not in PACKED_BEFOREHAND
                cells = [label, "x".join(map(str, shape)), str(threads), f"{ours[clock]:.1f}",
                         f"{ours[clock] / peak[clock]:.0%}" if peak else "-",
                         f"{eigen[0]:.1f} {eigen[1]}" if use_eigen else "-",
                         f"{ours[clock] / eigen[0]:.2f}" if comparable else "-",
                         f"{torch_rate:.1f} ({torch_dtype})" if torch_rate else "-",
                         f"{ours[clock] / torch_rate:.2f}" if torch_rate else "-"]
                print("| " + " | ".join(f"{v:<{len(c)}}" if j < 2 else f"{v:>{len(c)}}"
                                        for j, (v, c) in enumerate(zip(cells, columns))) + " |")
        if clock == 0:
            print_targets(table)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(here, "..", "build", "benchmarks", "ops", "bench_gemm"))
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.5)
    parser.add_argument("--filter", default=".", help="only benchmarks whose name matches (plus the peaks)")
    parser.add_argument("--isa", choices=["avx2", "avx512", "avx512_bf16", "amx"],
                        help="force our GEMM's path (default: the best present)")
    parser.add_argument("--stat", choices=["median", "best", "both"], default="median",
                        help="statistic over the repetitions (both: one table each)")
    parser.add_argument("--torch", action="store_true", help="also time torch.nn.functional.linear (f32, bf16)")
    args = parser.parse_args()

    name_filter = "." if args.filter == "." else f"_peak|{args.filter}"
    report = run(args.binary, args.repetitions, args.min_time, name_filter, args.isa)
    context = report["context"]
    print(f"cpu: {context.get('num_cpus')} CPUs at {context.get('mhz_per_cpu')} MHz, GEMM path "
          f"{context.get('cpu_isa', '?')}; transparent huge pages {transparent_huge_pages()}; "
          f"{args.repetitions} repetitions; load average {os.getloadavg()[0]:.1f}")
    stats = ["median", "best"] if args.stat == "both" else [args.stat]
    tables = {stat: summarise(report, stat) for stat in stats}
    torch = {}
    if args.torch:
        keys = tables[stats[0]]
        shapes = sorted({s for (_, s, _) in keys if s is not None})
        threads = sorted({t for (_, s, t) in keys if s is not None})
        torch = torch_rates(shapes, threads, args.repetitions, args.min_time)
        print(f"PyTorch {subprocess.run([sys.executable, '-c', 'import torch; print(torch.__version__)'], check=True, stdout=subprocess.PIPE, text=True).stdout.strip()}, "
              f"load average after it {os.getloadavg()[0]:.1f}")
    for stat in stats:
        print_table(tables[stat], torch, stat, context.get("cpu_isa"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
