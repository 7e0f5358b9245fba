#!/usr/bin/env python3
"""Times bench_decode.cpp's products in PyTorch on this machine, at the same shapes, threads and byte
accounting (the weight's bytes as stored, per second, copies cycled so that each call reads it from
memory), two ways a PyTorch user decodes on a CPU: F.linear on bf16 x and bf16 W (PyTorch's own bf16
path), and on f32 x and W widened to f32 once beforehand (twice the bytes to read). Prints the median
of several runs in wall time; run it right after bench_decode and compare weight_GB/s.
Run: python3 benchmarks/ops/compare_torch_decode.py [threads]   (default: 2, as INTERNVL_NUM_THREADS)"""
import statistics
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
SHAPES = [(4096, 4096), (11008, 4096), (4096, 11008), (49954, 4096)]


def report(name, dtype, m, n, k, runs=5):
    bytes_per = n * k * torch.finfo(dtype).bits // 8
    copies = (512 << 20) // bytes_per + 1
    weights = [torch.full((n, k), 0.01 * (c + 1), dtype=dtype) for c in range(copies)]
    x = torch.full((m, k), 0.5, dtype=dtype)
    rates = []
    with torch.no_grad():
        F.linear(x, weights[0])  # warm-up
        for _ in range(runs):
            calls = max(copies, 8)
            start = time.perf_counter()
            for i in range(calls):
                F.linear(x, weights[i % copies])
            rates.append(bytes_per * calls / (time.perf_counter() - start) * 1e-9)
    print(f"{name}/M:{m}/N:{n}/K:{k:<6} {statistics.median(rates):7.2f} weight GB/s")


for n, k in SHAPES:
    for m in (1, 5, 8):
        report("torch_linear_bf16", torch.bfloat16, m, n, k)
        report("torch_linear_f32", torch.float32, m, n, k)
