#!/usr/bin/env python3
"""Fixtures for the reference backend's element-wise, normalisation and reduction ops, computed by
PyTorch's own ops (F.layer_norm, F.batch_norm(training=False), torch.softmax, F.gelu, F.silu, F.relu, ...)
in float64 from float32 inputs, saved as float32. Inputs include rows with large common offsets,
tiny variances (where eps matters), masked (-inf) logits and far activation tails.
Run: python3 tests/golden/ops/make_eltwise.py  (writes tests/golden/ops/eltwise/*.npy)"""
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

out = pathlib.Path(__file__).resolve().parent / "eltwise"
out.mkdir(exist_ok=True)
g = torch.Generator().manual_seed(2025)


def save(name, t):
    np.save(out / f"{name}.npy", t.detach().to(torch.float32).numpy())


def rand(*shape, lo=-1.0, hi=1.0):
    return torch.rand(*shape, generator=g) * (hi - lo) + lo


# layer_norm over the last dimension, eps 1e-6: plain rows, a row offset by 1000, a row of large
# values, a row whose variance (1e-6) is comparable to eps, a constant row.
x = rand(6, 67, lo=-3, hi=3)
x[1] += 1000
x[2] *= 300
x[3] *= 1.7e-3
x[4] = 2.5
w, b = rand(67), rand(67)
save("layer_norm_x", x)
save("layer_norm_w", w)
save("layer_norm_b", b)
save("layer_norm_y", F.layer_norm(x.double(), (67,), w.double(), b.double(), eps=1e-6))

# batch_norm, inference mode: an NCHW map (eps 1e-5, the segmentation heads) and feature rows
# (eps 1e-6, the linear probe) whose running means carry a large offset.
for name, shape, eps, offset in [("batch_norm_4d", (2, 5, 4, 3), 1e-5, 0.0), ("batch_norm_2d", (4, 37), 1e-6, 500.0)]:
    channels = shape[1]
    mean = rand(channels, lo=-2, hi=2) + offset
    var = rand(channels, lo=0.05, hi=3)
    w, b = rand(channels), rand(channels)
    view = (1, channels) + (1,) * (len(shape) - 2)
    x = rand(*shape, lo=-3, hi=3) * var.sqrt().view(view) + mean.view(view)
    for t, suffix in [(x, "x"), (mean, "mean"), (var, "var"), (w, "w"), (b, "b")]:
        save(f"{name}_{suffix}", t)
    y = F.batch_norm(x.double(), mean.double(), var.double(), w.double(), b.double(), training=False, eps=eps)
    save(f"{name}_y", y)

# layer_norm_channels: LayerNorm over C at each pixel of an NCHW map, eps 1e-6 (the FPN's
# channels-first norm), computed by F.layer_norm on the channels-last permutation; image 1 offset by 200.
x = rand(2, 7, 3, 5, lo=-2, hi=2)
x[1] += 200
w, b = rand(7), rand(7)
save("layer_norm_channels_x", x)
save("layer_norm_channels_w", w)
save("layer_norm_channels_b", b)
y = F.layer_norm(x.double().permute(0, 2, 3, 1), (7,), w.double(), b.double(), eps=1e-6).permute(0, 3, 1, 2)
save("layer_norm_channels_y", y)

# softmax over rows: plain logits, large logits, logits offset by 1e4, a row with masked (-inf) entries.
x = rand(5, 43, lo=-4, hi=4)
x[1] *= 50
x[2] += 1e4
x[3, ::3] = float("-inf")
save("softmax_x", x)
save("softmax_y", torch.softmax(x.double(), dim=-1))

# gelu (exact erf form) over [-12, 12] in 200 steps, and its negative tail [-10, -4] alone.
x = torch.linspace(-12, 12, 200).reshape(4, 50)
save("gelu_x", x)
save("gelu_y", F.gelu(x.double()))
x = torch.linspace(-10, -4, 64).reshape(1, 64)
save("gelu_tail_x", x)
save("gelu_tail_y", F.gelu(x.double()))

# silu over [-30, 30]; swiglu = silu(gate) * up.
x = torch.linspace(-30, 30, 200).reshape(4, 50)
save("silu_x", x)
save("silu_y", F.silu(x.double()))
gate, up = rand(3, 41, lo=-8, hi=8), rand(3, 41, lo=-2, hi=2)
save("swiglu_gate", gate)
save("swiglu_up", up)
save("swiglu_out", F.silu(gate.double()) * up.double())

# add and the LayerScale residual x + gamma * y.
a, bb, gamma = rand(3, 19), rand(3, 19), rand(19, lo=-0.2, hi=0.2)
save("add_a", a)
save("add_b", bb)
save("add_y", a.double() + bb.double())
save("scaled_residual_add_gamma", gamma)
save("scaled_residual_add_y", a.double() + gamma.double() * bb.double())

# mean_tokens: mean of tokens [1, 9) (the patch tokens after a CLS token) of x [2, 9, 13].
x = rand(2, 9, 13, lo=-3, hi=3)
x[1] += 50
save("mean_tokens_x", x)
save("mean_tokens_out", x.double()[:, 1:9].mean(dim=1))

# relu over [-3, 3] in 99 steps (zero included) with a NaN, which PyTorch passes through.
x = torch.linspace(-3, 3, 99).reshape(3, 33)
x[1, 5] = float("nan")
save("relu_x", x)
save("relu_y", F.relu(x.double()))
