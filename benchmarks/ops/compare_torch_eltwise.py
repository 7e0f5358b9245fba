#!/usr/bin/env python3
"""Times the operations of bench_eltwise.cpp in PyTorch on this machine, one thread, at the same
shapes, with the same byte accounting (each input read once, each output written once). Prints CPU
time (process time: the machine may be shared), best of several runs, and GB/s; compare with
`INTERNVL_NUM_THREADS=1 bench_eltwise` (its CPU column).
Run: python3 benchmarks/ops/compare_torch_eltwise.py"""
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(0)


def report(name, floats, fn, repeat=15):
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    print(f"{name:<40} {best * 1e6:10.0f} us  {floats * 4 / best * 1e-9:7.2f} GB/s")


def ramp(*shape):
    return torch.rand(*shape) * 10 - 5


for rows, cols in [(257, 3200), (1025, 3200), (1297, 3200)]:
    x, y, w, b = ramp(rows, cols), ramp(rows, cols), torch.ones(cols), torch.zeros(cols)
    out = torch.empty(rows, cols)
    report(f"copy/{rows}/{cols}", 2 * rows * cols, lambda: out.copy_(x))
    report(f"layer_norm/{rows}/{cols}", 2 * rows * cols, lambda: F.layer_norm(x, (cols,), w, b, 1e-6))
    report(f"softmax/{rows}/{cols}", 2 * rows * cols, lambda: torch.softmax(x, dim=-1))
    report(f"add/{rows}/{cols}", 3 * rows * cols, lambda: torch.add(x, y, out=out))
    report(f"scaled_residual_add/{rows}/{cols}", 3 * rows * cols, lambda: x.addcmul_(w * 1e-7, y))
    report(f"mean_tokens/{rows}/{cols}", rows * cols, lambda: x[1:].mean(dim=0))
x, w, b = ramp(1025, 1024), torch.ones(1024), torch.zeros(1024)
report("layer_norm/1025/1024", 2 * 1025 * 1024, lambda: F.layer_norm(x, (1024,), w, b, 1e-6))
for rows in [257, 1025]:
    x = ramp(rows, 12800)
    report(f"gelu/{rows}/12800", 2 * rows * 12800, lambda: F.gelu(x))
x, u = ramp(257, 11008), ramp(257, 11008)
report("silu/257/11008", 2 * 257 * 11008, lambda: F.silu(x))
for rows in [96, 257]:
    g, u = ramp(rows, 11008), ramp(rows, 11008)
    report(f"swiglu/{rows}/11008", 3 * rows * 11008, lambda: F.silu(g) * u)
x, c = ramp(64, 6400), 6400
stats = [torch.rand(c) + 0.5, torch.rand(c) + 0.5, torch.ones(c), torch.zeros(c)]
report("batch_norm_rows/64/6400", 2 * 64 * 6400, lambda: F.batch_norm(x, *stats[:2], stats[2], stats[3], False, 0.0, 1e-6))
for shape in [(1, 3200, 36, 36), (2, 1536, 18, 18)]:
    x, c = ramp(*shape), shape[1]
    stats = [torch.rand(c) + 0.5, torch.rand(c) + 0.5, torch.ones(c), torch.zeros(c)]
    report(f"batch_norm_map/{'/'.join(map(str, shape))}", 2 * x.numel(),
           lambda: F.batch_norm(x, *stats[:2], stats[2], stats[3], False, 0.0, 1e-5))
for shape in [(1, 3200, 36, 36), (1, 3200, 72, 72)]:
    x, c = ramp(*shape), shape[1]
    w, b = torch.ones(c), torch.zeros(c)
    # the FPN's channels-first LayerNorm as the official code writes it (mean/var over dim 1)
    def channels_first(x=x, w=w, b=b):
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        return w[:, None, None] * ((x - u) / torch.sqrt(s + 1e-6)) + b[:, None, None]
    report(f"layer_norm_channels/{'/'.join(map(str, shape))}", 2 * x.numel(), channels_first)
