#!/usr/bin/env python3
"""Runs bench_gemm (benchmarks/ops/bench_gemm.cpp) and prints one table: our GEMM and Eigen's in
GFLOP/s per shape and thread count, their ratio, and the fraction of the machine's f32 FMA peak
measured in the same run; once from wall time, once from the process's CPU time (× threads), which
time taken by other programs on a shared machine does not inflate (but threads that spin while
waiting for a descheduled partner do: Eigen's parallel GEMM spins). Medians over --repetitions
runs (or, with --stat best, the fastest run: on a shared machine, the least disturbed one); the
repetitions of all benchmarks are interleaved at random, so that noise hits every column alike.

Usage: python3 benchmarks/gemm_table.py [--binary build/benchmarks/ops/bench_gemm]
                                        [--repetitions 5] [--min-time 0.5] [--filter REGEX]
                                        [--isa avx2|avx512]   (forces our path: INTERNVL_CPU_ISA)
                                        [--stat median|best|both]
"""
import argparse
import json
import os
import re
import subprocess
import sys

NAME = re.compile(r"BM_(?P<what>\w+?)(?:/M:(?P<m>\d+)/K:(?P<k>\d+)/N:(?P<n>\d+))?/threads:(?P<threads>\d+)")


def run(binary, repetitions, min_time, name_filter, isa):
    env = dict(os.environ, OMP_WAIT_POLICY="passive")  # idle Eigen (OpenMP) threads must not spin
    if isa:
        env["INTERNVL_CPU_ISA"] = isa
    cmd = [binary, "--benchmark_format=json", f"--benchmark_repetitions={repetitions}",
           "--benchmark_enable_random_interleaving=true", f"--benchmark_min_time={min_time}",
           f"--benchmark_filter={name_filter}"]
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out)


def summarise(report, stat):
    """{(what, shape or None, threads): (GFLOP/s of wall time, GFLOP/s of CPU time × threads)},
    the median or the best of the repetitions"""
    table = {}
    for b in report["benchmarks"]:
        if "GFLOP/s" not in b:
            continue
        wanted = b.get("aggregate_name") == "median" if stat == "median" else b.get("run_type") == "iteration"
        if not wanted:
            continue
        m = NAME.match(b["run_name"])
        threads = int(m["threads"])
        key = (m["what"], (int(m["m"]), int(m["k"]), int(m["n"])) if m["m"] else None, threads)
        # The process's CPU time counts only the time its threads ran: time taken by other programs
        # on a shared machine drops out (waiting for one another does too, so this flatters scaling).
        cpu_rate = b["GFLOP/s"] * b["real_time"] / b["cpu_time"] * threads
        wall, cpu = table.get(key, (0.0, 0.0))
        table[key] = (max(wall, b["GFLOP/s"]), max(cpu, cpu_rate))
    return table


def print_table(table, stat):
    peak = {t: v for (what, _, t), v in table.items() if what == "fma_peak"}
    print(f"\n{stat} of the repetitions; FMA peak GFLOP/s (wall, CPU time): "
          + ", ".join(f"{t} thread{'s' if t > 1 else ''} {v[0]:.1f}, {v[1]:.1f}" for t, v in sorted(peak.items())))
    print("left: GFLOP/s of wall time; right: of the process's CPU time × threads\n")
    columns = [f"{'op':<12}", f"{'M x K x N':<15}", "threads", "ours GFLOP/s", "Eigen GFLOP/s", "ours/Eigen",
               "ours/peak", "CPU: ours", "Eigen", "ours/Eigen", "ours/peak"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("-" * (len(c) + 2) for c in columns) + "|")
    shapes = sorted({(s, t) for (what, s, t) in table if s is not None},
                    key=lambda st: (st[1], st[0][0] * st[0][1] * st[0][2]))
    for shape, threads in shapes:
        eigen = table.get(("gemm_eigen", shape, threads))
        for what, op in [("gemm_ours_f32", "gemm f32 B"), ("gemm_ours_bf16", "gemm bf16 B")]:
            ours = table.get((what, shape, threads))
            if ours is None:
                continue
            cells = []
            for i in (0, 1):  # wall time, CPU time
                cells += [f"{ours[i]:.1f}", f"{eigen[i]:.1f}" if eigen else "-",
                          f"{ours[i] / eigen[i]:.2f}" if eigen else "-",
                          f"{ours[i] / peak[threads][i]:.0%}" if threads in peak else "-"]
            row = [op, "x".join(map(str, shape)), str(threads)] + cells
            print("| " + " | ".join(f"{v:<{len(c)}}" if j < 2 else f"{v:>{len(c)}}"
                                    for j, (v, c) in enumerate(zip(row, columns))) + " |")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(here, "..", "build", "benchmarks", "ops", "bench_gemm"))
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--min-time", type=float, default=0.5)
    parser.add_argument("--filter", default=".", help="only benchmarks whose name matches (plus the FMA peak)")
    parser.add_argument("--isa", choices=["avx2", "avx512"], help="force our GEMM's path (default: the best present)")
    parser.add_argument("--stat", choices=["median", "best", "both"], default="median",
                        help="statistic over the repetitions (both: one table each)")
    args = parser.parse_args()

    name_filter = "." if args.filter == "." else f"BM_fma_peak|{args.filter}"
    report = run(args.binary, args.repetitions, args.min_time, name_filter, args.isa)
    context = report["context"]
    print(f"cpu: {context.get('num_cpus')} CPUs at {context.get('mhz_per_cpu')} MHz, GEMM path "
          f"{context.get('cpu_isa', '?')}; {args.repetitions} repetitions")
    for stat in ["median", "best"] if args.stat == "both" else [args.stat]:
        print_table(summarise(report, stat), stat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
