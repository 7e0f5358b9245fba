#!/usr/bin/env python3
"""InternViT forward on the CPU, ours against PyTorch (transformers' InternVLVisionModel, random weights),
same shapes, same machine, same run: one table with seconds per image, GFLOP/s, peak RSS and ratios.

Each configuration runs in a fresh process (so peak RSS is its own). Random-weight model directories
are written once by scripts/make_random_checkpoint.py into --cache (default build/bench-models; the
6B one takes 11.8 GB of disk in bf16).

  python3 benchmarks/compare_pytorch.py [--models 300M-224,300M-448,6B-224] [--threads 1,2] [--repeat 3]
"""
import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import time

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
parser.add_argument("--dtypes", default="bf16,f32", help="weight storage of our runs")
parser.add_argument("--torch-dtypes", default="f32,bf16")
parser.add_argument("--repeat", type=int, default=3)
parser.add_argument("--cache", default=str(ROOT / "build" / "bench-models"))
parser.add_argument("--bench", default=str(ROOT / "build" / "benchmarks" / "models" / "bench_intern_vit"))
parser.add_argument("--json", help="also write the rows here")
args = parser.parse_args()


def checkpoint(config, dtype):
    out = pathlib.Path(args.cache) / f"{config}-{dtype}"
    if not (out / "config.json").exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_random_checkpoint.py"), "--config",
                        str(ROOT / "configs" / f"{config}.json"), "--out", str(out), "--dtype", dtype], check=True)
    return out


def ours(config, side, dtype, threads):
    env = dict(os.environ, INTERNVL_NUM_THREADS=str(threads))
    cmd = [args.bench, "--model", str(checkpoint(config, dtype)), "--image-size", str(side),
           f"--benchmark_repetitions={args.repeat}", "--benchmark_format=json", "--benchmark_min_time=0.01"]
    result = json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout)
    runs = [b for b in result["benchmarks"] if b.get("run_type") == "iteration"]
    seconds = sorted(b["real_time"] / 1e3 for b in runs)[len(runs) // 2]
    return seconds, max(b["peak_RSS_GB"] for b in runs)


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
times = []
with torch.inference_mode():
    model(pixel_values=x)
    for _ in range(repeat):
        t = time.perf_counter(); model(pixel_values=x); times.append(time.perf_counter() - t)
print(json.dumps({"seconds": sorted(times)[len(times) // 2], "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9}))
"""


def pytorch(config, side, dtype, threads):
    cfg = json.loads((ROOT / "configs" / f"{config}.json").read_text())
    if dtype == "f32" and cfg["hidden_size"] >= 3200:
        return None  # 23.6 GB of f32 weights: does not fit this machine next to anything else
    r = subprocess.run([sys.executable, "-c", TORCH_SCRIPT, json.dumps(cfg), str(side), dtype, str(threads), str(args.repeat)],
                       check=True, capture_output=True, text=True)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return out["seconds"], out["peak_rss_gb"]


def flops(config, side):
    cfg = json.loads((ROOT / "configs" / f"{config}.json").read_text())
    d, f, layers, p = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"], cfg.get("patch_size", 14)
    g = side // p
    s = 1 + g * g
    return 2.0 * g * g * 3 * p * p * d + layers * (8 * s * d * d + 4 * s * s * d + 4 * s * d * f)


rows = []
cpu = re.search(r"model name\s*:\s*(.*)", pathlib.Path("/proc/cpuinfo").read_text()).group(1)
print(f"CPU: {cpu}, {os.cpu_count()} cores; repeat {args.repeat}, median")
header = f"{'model':9} {'thr':>3} {'impl':14} {'s/image':>8} {'GFLOP/s':>8} {'RSS GB':>7} {'vs torch f32':>12} {'vs torch bf16':>13}"
print(header)
for name in args.models.split(","):
    config, side = MODELS[name]
    total = flops(config, side)
    for threads in map(int, args.threads.split(",")):
        reference = {}
        for dtype in args.torch_dtypes.split(","):
            reference[dtype] = pytorch(config, side, dtype, threads)
        results = [(f"torch {dtype}", reference[dtype]) for dtype in reference]
        results += [(f"ours {dtype}", ours(config, side, dtype, threads)) for dtype in args.dtypes.split(",")]
        for impl, r in results:
            if r is None:
                print(f"{name:9} {threads:>3} {impl:14} {'(skipped: does not fit in memory)':>30}")
                continue
            seconds, rss = r
            ratio = lambda d: f"{reference[d][0] / seconds:.2f}x" if reference.get(d) else "-"
            print(f"{name:9} {threads:>3} {impl:14} {seconds:8.3f} {total / seconds * 1e-9:8.1f} {rss:7.2f} "
                  f"{ratio('f32'):>12} {ratio('bf16'):>13}")
            rows.append({"model": name, "threads": threads, "impl": impl, "seconds": seconds, "gflops": total / seconds * 1e-9,
                         "peak_rss_gb": rss})
if args.json:
    pathlib.Path(args.json).write_text(json.dumps({"cpu": cpu, "rows": rows}, indent=2))
