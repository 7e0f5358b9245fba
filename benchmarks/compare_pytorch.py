#!/usr/bin/env python3
"""InternViT forward on the CPU, ours against PyTorch (transformers' InternVLVisionModel, random weights),
same shapes, same machine, same run: one table with seconds per image, GFLOP/s, peak RSS and ratios.

Each configuration runs in a fresh process (so peak RSS is its own). Random-weight model directories
are written once by scripts/make_random_checkpoint.py into --cache (default build/bench-models; the
6B one takes 11.8 GB of disk in bf16).

Two clocks: wall time, and the process's CPU time (all threads) divided by the thread count. On a
machine shared with other work, CPU time leaves out the time other programs took from us (it also
leaves out our threads' idle waits, and it counts threads that spin while waiting, which PyTorch's
OpenMP threads do for a while). Both sides are measured the same way. --rounds R runs every
implementation R times in alternating order (PyTorch first in even rounds, ours first in odd ones),
so that a burst of load hits both; the table gives the median over all repetitions of all rounds, and
the load average (1 minute) seen at the start of each configuration.

Our runs are given as STORAGE:COMPUTE pairs (--ours): the weights' stored dtype (bf16, f32) and the
precision of the matrix products (f32; or bf16: operands rounded to bf16, f32 accumulation, where the
CPU has AVX512-BF16; see docs/gemm.md). With --prepack our runs pack each weight matrix once, in the
untimed first pass, and read it packed from then on (bench_intern_vit --prepack; docs/gemm.md, "Pre-packed
weights"), as issue #7's design has them; their rows say "prepacked".

The machine's ceilings are measured in the same run (bench_gemm's BM_fma_peak, BM_dpbf16_peak and
BM_amx_peak, at the start, per thread count, from CPU time) and every row gives its CPU-time rate as a
fraction of the f32 one and of the bf16 one: AMX's where the CPU has AMX (our bf16 products run on its
tiles there), vdpbf16ps's elsewhere.

  python3 benchmarks/compare_pytorch.py [--models 300M-224,300M-448,6B-224] [--threads 1,2] [--repeat 3]
                                        [--rounds 2] [--ours bf16:f32,f32:f32,bf16:bf16] [--prepack]
                                        [--json FILE]
"""
import argparse
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODELS = {  # name: (config file, image side)
    "300M-224": ("InternViT-300M-448px", 224),
    "300M-448": ("InternViT-300M-448px", 448),
    "6B-224": ("InternViT-6B-224px", 224),
    "6B-448": ("InternViT-6B-448px-V1-5", 448),
}

parser = argparse.ArgumentParser()
parser.add_argument("--models", default="300M-224,300M-448,6B-224")
parser.add_argument("--threads", default="1,2")
parser.add_argument("--ours", default="bf16:f32,f32:f32,bf16:bf16", help="STORAGE:COMPUTE of our runs")
parser.add_argument("--prepack", action="store_true", help="our runs pack the weights once (bench_intern_vit --prepack)")
parser.add_argument("--torch-dtypes", default="f32,bf16")
parser.add_argument("--repeat", type=int, default=3, help="timed forward passes per process")
parser.add_argument("--rounds", type=int, default=2, help="processes per implementation, interleaved")
parser.add_argument("--cache", default=str(ROOT / "build" / "bench-models"))
parser.add_argument("--bench", default=str(ROOT / "build" / "benchmarks" / "models" / "bench_intern_vit"))
parser.add_argument("--peaks", default=str(ROOT / "build" / "benchmarks" / "ops" / "bench_gemm"),
                    help="bench_gemm, for the f32 FMA and vdpbf16ps ceilings")
parser.add_argument("--json", help="also write the rows here (after every configuration)")
args = parser.parse_args()
for name in args.models.split(","):
    if name not in MODELS:
        parser.error(f"--models: unknown model '{name}' (known: {', '.join(MODELS)})")
if not all(t.isdigit() and int(t) >= 1 for t in args.threads.split(",")):
    parser.error(f"--threads takes thread counts of 1 or more, e.g. 1,2; got '{args.threads}'")
for spec in args.ours.split(","):
    if spec not in {f"{a}:{b}" for a in ("bf16", "f32") for b in ("f32", "bf16")}:
        parser.error(f"--ours: '{spec}' is not STORAGE:COMPUTE with bf16 or f32 on each side")
if not set(args.torch_dtypes.split(",")) <= {"f32", "bf16"}:
    parser.error(f"--torch-dtypes takes f32 and/or bf16; got '{args.torch_dtypes}'")
if args.repeat < 1 or args.rounds < 1:
    parser.error("--repeat and --rounds must be 1 or more")
for flag, program in (("--bench", args.bench), ("--peaks", args.peaks)):
    if not (os.path.isfile(program) and os.access(program, os.X_OK)):
        parser.error(f"{flag} {program}: not an executable file (build with -Dbenchmarks=enabled)")
if args.json and not os.path.isdir(os.path.dirname(os.path.abspath(args.json))):
    parser.error(f"--json {args.json}: its directory does not exist")


def run(cmd, **kwargs):
    """The finished process; a failure ends this script with the program's own error output."""
    r = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if r.returncode != 0:
        sys.exit(f"compare_pytorch: {pathlib.Path(cmd[0]).name} {' '.join(map(str, cmd[1:3]))} ... failed "
                 f"(status {r.returncode}):\n{r.stderr.strip()[-2000:]}")
    return r


def checkpoint(config, dtype):
    out = pathlib.Path(args.cache) / f"{config}-{dtype}"
    if not (out / "config.json").exists():  # written last: a directory with it is complete
        run([sys.executable, str(ROOT / "scripts" / "make_random_checkpoint.py"), "--config",
             str(ROOT / "configs" / f"{config}.json"), "--out", str(out), "--dtype", dtype])
    return out


def ours(config, side, spec, threads):
    """[(wall s, CPU s / thread)] per repetition, peak RSS GB"""
    storage, compute = spec.split(":")
    env = dict(os.environ, INTERNVL_NUM_THREADS=str(threads))
    cmd = [args.bench, "--model", str(checkpoint(config, storage)), "--image-size", str(side), "--compute", compute,
           f"--benchmark_repetitions={args.repeat}", "--benchmark_format=json", "--benchmark_min_time=0.01"]
    if args.prepack:
        cmd.append("--prepack")
    result = json.loads(run(cmd, env=env).stdout)
    runs = [b for b in result["benchmarks"] if b.get("run_type") == "iteration"]
    return [(b["real_time"] / 1e3, b["cpu_time"] / 1e3 / threads) for b in runs], max(b["peak_RSS_GB"] for b in runs)


TORCH_SCRIPT = r"""
import json, sys, time, resource, torch
from transformers import InternVLVisionConfig, InternVLVisionModel
cfg, side, dtype, threads, repeat = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
dt = {"f32": torch.float32, "bf16": torch.bfloat16}[dtype]
config = InternVLVisionConfig(hidden_size=cfg["hidden_size"], num_hidden_layers=cfg["num_hidden_layers"],
    num_attention_heads=cfg["num_attention_heads"], intermediate_size=cfg["intermediate_size"],
    image_size=[cfg.get("image_size", 224)] * 2, patch_size=[14, 14], norm_type=cfg.get("norm_type", "rms_norm"),
    use_qk_norm=cfg.get("qk_normalization", True), attention_bias=cfg.get("qkv_bias", False), attn_implementation="sdpa")
with torch.device("meta"):
    model = InternVLVisionModel(config)
model = model.to_empty(device="cpu").to(dt).eval()
for p in model.parameters():
    torch.nn.init.normal_(p, std=0.02)
x = torch.randn(1, 3, side, side, dtype=dt)
runs = []
with torch.inference_mode():
    model(pixel_values=x)
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        model(pixel_values=x)
        runs.append((time.perf_counter() - t, (time.process_time() - c) / threads))
print(json.dumps({"runs": runs, "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9}))
"""


def pytorch(config, side, dtype, threads):
    """[(wall s, CPU s / thread)] per repetition, peak RSS GB; None where it does not fit in memory"""
    cfg = json.loads((ROOT / "configs" / f"{config}.json").read_text())
    if dtype == "f32" and cfg["hidden_size"] >= 3200:
        return None  # 23.6 GB of f32 weights: does not fit this machine next to anything else
    r = run([sys.executable, "-c", TORCH_SCRIPT, json.dumps(cfg), str(side), dtype, str(threads), str(args.repeat)])
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return [tuple(x) for x in out["runs"]], out["peak_rss_gb"]


def ceilings():
    """{(name, threads): GFLOP/s of CPU time x threads}, median of 5, for the peaks this CPU has"""
    cmd = [args.peaks, "--benchmark_filter=_peak", "--benchmark_format=json", "--benchmark_repetitions=5",
           "--benchmark_min_time=0.2"]
    report = json.loads(run(cmd).stdout)
    rates = {}
    for b in report["benchmarks"]:
        if b.get("run_type") != "iteration" or "GFLOP/s" not in b:
            continue
        name, threads = re.match(r"BM_(\w+_peak)/threads:(\d+)", b["run_name"]).groups()
        rates.setdefault((name, int(threads)), []).append(b["GFLOP/s"] * b["real_time"] / b["cpu_time"] * int(threads))
    return {key: statistics.median(r) for key, r in rates.items()}


def flops(config, side):
    cfg = json.loads((ROOT / "configs" / f"{config}.json").read_text())
    d, f, layers, p = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"], cfg.get("patch_size", 14)
    g = side // p
    s = 1 + g * g
    return 2.0 * g * g * 3 * p * p * d + layers * (8 * s * d * d + 4 * s * s * d + 4 * s * d * f)


def measure(config, side, threads):
    """{impl: (wall s, CPU s per thread, peak RSS GB) or None}, implementations interleaved over the rounds"""
    impls = [("torch " + d, lambda d=d: pytorch(config, side, d, threads)) for d in args.torch_dtypes.split(",")]
    mine = [("ours " + s + (" prepacked" if args.prepack else ""), lambda s=s: ours(config, side, s, threads))
            for s in args.ours.split(",")]
    runs, rss, skipped = {}, {}, set()
    for r in range(args.rounds):
        for impl, run in (impls + mine if r % 2 == 0 else mine + impls):
            if impl in skipped:
                continue
            out = run()
            if out is None:
                skipped.add(impl)
                continue
            runs.setdefault(impl, []).extend(out[0])
            rss[impl] = max(rss.get(impl, 0.0), out[1])
    result = {impl: None for impl in skipped}
    for impl, rs in runs.items():
        result[impl] = (statistics.median(w for w, _ in rs), statistics.median(c for _, c in rs), rss[impl])
    return {impl: result[impl] for impl, _ in impls + mine}


rows = []
cpuinfo = pathlib.Path("/proc/cpuinfo").read_text()
cpu = re.search(r"model name\s*:\s*(.*)", cpuinfo).group(1)
flags = set(re.search(r"flags\s*:\s*(.*)", cpuinfo).group(1).split())
wanted = ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16", "amx_tile", "amx_bf16"]
torch_version = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"], check=True,
                               capture_output=True, text=True).stdout.strip()
print(f"CPU: {cpu}, {os.cpu_count()} cores; flags: {' '.join(f for f in wanted if f in flags)} "
      f"(absent: {' '.join(f for f in wanted if f not in flags) or 'none'}); torch {torch_version}")
print(f"{args.rounds} rounds x {args.repeat} repetitions, median")
peaks = ceilings()
print("ceilings (GFLOP/s of CPU time): " + ", ".join(f"{name} {t} thread{'s' if t > 1 else ''} {v:.1f}"
                                                    for (name, t), v in sorted(peaks.items())))
bf16_peak = "amx_peak" if any(name == "amx_peak" for name, _ in peaks) else "dpbf16_peak"
print("wall: seconds per image and GFLOP/s of wall time; cpu: of the process's CPU time / threads; "
      f"of f32 / bf16 peak: the cpu rate over the ceilings (fma_peak / {bf16_peak})\n")
columns = ["model", "thr", "load", "impl", "wall s", "GFLOP/s", "cpu s", "GFLOP/s", "of f32 peak", "of bf16 peak",
           "RSS GB", "wall vs torch f32", "bf16", "cpu vs torch f32", "bf16"]
print("| " + " | ".join(columns) + " |")
print("|" + "|".join("---" for _ in columns) + "|")
for name in args.models.split(","):
    config, side = MODELS[name]
    total = flops(config, side)
    for threads in map(int, args.threads.split(",")):
        load = os.getloadavg()[0]
        results = measure(config, side, threads)
        for impl, r in results.items():
            if r is None:
                print(f"| {name} | {threads} | {load:.1f} | {impl} | (skipped: does not fit in memory) |", flush=True)
                continue
            wall, cpu_s, rss = r
            ratio = lambda d, i: (f"{results[d][i] / r[i]:.2f}x" if results.get(d) else "-")
            cpu_rate = total / cpu_s * 1e-9
            of_peak = lambda p: f"{cpu_rate / peaks[(p, threads)]:.0%}" if (p, threads) in peaks else "-"
            cells = [name, threads, f"{load:.1f}", impl, f"{wall:.3f}", f"{total / wall * 1e-9:.1f}", f"{cpu_s:.3f}",
                     f"{cpu_rate:.1f}", of_peak("fma_peak"), of_peak(bf16_peak), f"{rss:.2f}",
                     ratio("torch f32", 0), ratio("torch bf16", 0), ratio("torch f32", 1), ratio("torch bf16", 1)]
            print("| " + " | ".join(map(str, cells)) + " |", flush=True)
            rows.append({"model": name, "threads": threads, "load_average": load, "impl": impl, "seconds": wall,
                         "cpu_seconds_per_thread": cpu_s, "gflops": total / wall * 1e-9,
                         "cpu_gflops": total / cpu_s * 1e-9, "peak_rss_gb": rss})
        if args.json:
            pathlib.Path(args.json).write_text(json.dumps({"cpu": cpu, "ceilings": {f"{n}/{t}": v for (n, t), v in peaks.items()},
                                                           "rows": rows}, indent=2))
