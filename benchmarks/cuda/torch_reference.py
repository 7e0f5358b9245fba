#!/usr/bin/env python3
"""PyTorch on the same GPU, timing what bench_cuda_linear and bench_cuda_attention time, the same way
(gpu_timing.cuh): CUDA events around batches of calls ~3 ms long, the median over 15 batches, several
input sets rotated when one would fit in L2, random data (never zeros).
  linear:    bf16 F.linear at M = 257*B (B = 1, 8, 32), (K, N) = (3200, 9600), (3200, 3200), (3200, 12800),
             (12800, 3200): plain, and with the layer's epilogue (bias; bias + exact GELU for fc1), and 8192^3
  attention: F.scaled_dot_product_attention restricted to the flash backend, bf16, q/k/v strided views of one
             packed [B, N, 3, H, Dh] QKV tensor, N = 257, 1025, 1297, Dh = 128 (H = 25) and 64 (H = 16)
Usage: torch_reference.py --out FILE.json"""
import argparse
import json
import sys

import torch
import torch.nn.functional as F

BATCHES = 15
BATCH_SECONDS = 3e-3


def time_calls(fn):
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    call = 0
    start.record()
    for _ in range(3):
        fn(call)
        call += 1
    stop.record()
    stop.synchronize()
    first = start.elapsed_time(stop) * 1e-3 / 3
    calls = int(min(max(BATCH_SECONDS / max(first, 1e-7), 1), 2000))
    per_call = []
    for _ in range(BATCHES):
        start.record()
        for _ in range(calls):
            fn(call)
            call += 1
        stop.record()
        stop.synchronize()
        per_call.append(start.elapsed_time(stop) * 1e-3 / calls)
    per_call.sort()
    return per_call[len(per_call) // 2]


def linear_cases():
    for batch in (1, 8, 32):
        for k, n in ((3200, 9600), (3200, 3200), (3200, 12800), (12800, 3200)):
            for epilogue in (0, 1):
                if epilogue and n == 3 * k:
                    continue
                yield 257 * batch, k, n, epilogue
    yield 8192, 8192, 8192, 0


def bench_linear(l2_bytes):
    results = []
    for m, k, n, epilogue in linear_cases():
        set_bytes = 2.0 * (m * k + n * k + m * n)
        sets = int(min(max(2.0 * l2_bytes / set_bytes + 1.0, 1.0), 8.0))
        xs = [torch.empty(m, k, device="cuda", dtype=torch.bfloat16).uniform_(-1, 1) for _ in range(sets)]
        ws = [torch.empty(n, k, device="cuda", dtype=torch.bfloat16).uniform_(-0.02, 0.02) for _ in range(sets)]
        bias = torch.empty(n, device="cuda", dtype=torch.bfloat16).uniform_(-1, 1)
        gelu = epilogue and n == 4 * k
        has_bias = epilogue and n != 3 * k

        def call(i):
            s = i % sets
            y = F.linear(xs[s], ws[s], bias if has_bias else None)
            return F.gelu(y) if gelu else y

        seconds = time_calls(call)
        results.append({"M": m, "K": k, "N": n, "epilogue": epilogue, "tflops": 2.0 * m * n * k / seconds / 1e12,
                        "us": seconds * 1e6})
        print(f"linear M={m} K={k} N={n} epilogue={epilogue}: {results[-1]['tflops']:.1f} TFLOP/s", flush=True)
        del xs, ws
    return results


def bench_attention():
    from torch.nn.attention import SDPBackend, sdpa_kernel

    results = []
    for b, n, h, dh in ((32, 257, 25, 128), (8, 1025, 25, 128), (8, 1297, 25, 128), (32, 257, 16, 64),
                        (8, 1025, 16, 64), (8, 1297, 16, 64)):
        qkv = torch.empty(b, n, 3, h, dh, device="cuda", dtype=torch.bfloat16).uniform_(-2, 2)
        q, k, v = (qkv[:, :, i].transpose(1, 2) for i in range(3))  # [B, H, N, Dh], strided
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            seconds = time_calls(lambda i: F.scaled_dot_product_attention(q, k, v))
        results.append({"B": b, "N": n, "H": h, "Dh": dh, "tflops": 4.0 * b * h * n * n * dh / seconds / 1e12,
                        "us": seconds * 1e6})
        print(f"sdpa flash B={b} N={n} H={h} Dh={dh}: {results[-1]['tflops']:.1f} TFLOP/s", flush=True)
        del qkv, q, k, v
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("torch_reference: no CUDA device", file=sys.stderr)
        return 1
    torch.manual_seed(0)
    props = torch.cuda.get_device_properties(0)
    report = {"device": props.name, "torch": torch.__version__, "cuda": torch.version.cuda,
              "sms": props.multi_processor_count}
    report["linear"] = bench_linear(getattr(props, "L2_cache_size", 50 << 20))
    try:
        report["attention"] = bench_attention()
    except RuntimeError as error:  # e.g. no flash kernel for this GPU / build
        print(f"torch_reference: SDPA flash failed: {error}", file=sys.stderr)
        report["attention"] = []
        report["attention_error"] = str(error)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
