#!/usr/bin/env python3
"""Fixtures for the reference backend's conv2d, conv_transpose2d, max_pool2d, adaptive_avg_pool2d and
resize, computed by PyTorch's own ops. Convolutions and pooling run in float64 from float32 inputs;
weights meant to be stored as bf16 / f16 are rounded by torch first and saved as the float32 values they
represent. F.interpolate runs in float32, as the models do (its source coordinates are float32 too).
A case is a set of arrays <case>_x, <case>_w, <case>_b (absent: no bias), <case>_y, and for conv2d
<case>_params = [stride_h, stride_w, pad_h, pad_w]; the C++ tests list the case names.
Run: python3 tests/golden/ops/make_conv.py  (writes tests/golden/ops/conv/*.npy)"""
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

out = pathlib.Path(__file__).resolve().parent / "conv"
out.mkdir(exist_ok=True)
for old in out.glob("*.npy"):
    old.unlink()
g = torch.Generator().manual_seed(7)
DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}


def save(name, t):
    np.save(out / f"{name}.npy", t.detach().to(torch.float32).numpy())


def rand(*shape):
    return torch.rand(*shape, generator=g) * 2 - 1


# conv2d cases: name, x shape, weight shape, weight dtype, bias?, stride, padding.
CONV = [
    ("conv_3x3_pad1", (2, 3, 9, 11), (5, 3, 3, 3), "f32", True, (1, 1), (1, 1)),
    ("conv_patch", (1, 3, 28, 42), (8, 3, 14, 14), "bf16", True, (14, 14), (0, 0)),
    ("conv_1x1", (2, 6, 5, 7), (4, 6, 1, 1), "f16", False, (1, 1), (0, 0)),
    ("conv_odd", (1, 4, 10, 7), (3, 4, 2, 5), "bf16", True, (2, 3), (1, 2)),
    ("conv_pad_wide", (1, 2, 3, 4), (2, 2, 4, 3), "f32", True, (1, 2), (2, 1)),
]
for name, xs, ws, dt, has_bias, stride, padding in CONV:
    x = rand(*xs)
    w = rand(*ws).to(DTYPES[dt]).to(torch.float64)
    b = rand(ws[0]).double() if has_bias else None
    save(f"{name}_x", x)
    save(f"{name}_w", w)
    if has_bias:
        save(f"{name}_b", b)
    np.save(out / f"{name}_params.npy", np.array(stride + padding, dtype=np.int64))
    save(f"{name}_y", F.conv2d(x.double(), w, b, stride=stride, padding=padding))

# conv_transpose2d, kernel 2 stride 2: weight [C, O, 2, 2].
for name, xs, ws, dt, has_bias in [("convt", (2, 5, 3, 4), (5, 6, 2, 2), "bf16", True),
                                   ("convt_nobias", (1, 3, 1, 5), (3, 2, 2, 2), "f32", False)]:
    x = rand(*xs)
    w = rand(*ws).to(DTYPES[dt]).to(torch.float64)
    b = rand(ws[1]).double() if has_bias else None
    save(f"{name}_x", x)
    save(f"{name}_w", w)
    if has_bias:
        save(f"{name}_b", b)
    save(f"{name}_y", F.conv_transpose2d(x.double(), w, b, stride=2))

# max_pool2d 2x2 stride 2 on even and odd sizes.
for name, xs in [("maxpool_even", (2, 3, 6, 8)), ("maxpool_odd", (1, 2, 7, 5))]:
    x = rand(*xs)
    save(f"{name}_x", x)
    save(f"{name}_y", F.max_pool2d(x.double(), 2, 2))

# adaptive_avg_pool2d: the pyramid pooling sizes on an 18x18 map, uneven and growing bins.
x = rand(2, 3, 18, 18)
save("adaptive_18_x", x)
for s in (1, 2, 3, 6):
    save(f"adaptive_18_to_{s}_y", F.adaptive_avg_pool2d(x.double(), s))
x = rand(1, 2, 7, 5)
save("adaptive_7x5_x", x)
for oh, ow in ((3, 2), (4, 4), (9, 8)):
    save(f"adaptive_7x5_to_{oh}x{ow}_y", F.adaptive_avg_pool2d(x.double(), (oh, ow)))

# resize (F.interpolate, align_corners=False, float32): up, down, mixed, identity, real grid ratios.
RESIZE = [
    ((1, 3, 6, 6), (13, 17)),
    ((1, 2, 17, 13), (5, 4)),
    ((2, 3, 5, 9), (11, 4)),
    ((1, 2, 4, 4), (4, 4)),
    ((1, 2, 16, 16), (36, 36)),
    ((1, 2, 32, 32), (24, 40)),
    ((1, 1, 36, 36), (126, 90)),
    ((1, 1, 1, 3), (2, 7)),
]
for xs, size in RESIZE:
    x = rand(*xs) * 3
    stem = f"resize_{xs[2]}x{xs[3]}_to_{size[0]}x{size[1]}"
    save(f"{stem}_x", x)
    for mode in ("bilinear", "bicubic"):
        save(f"{stem}_{mode}_y", F.interpolate(x, size=size, mode=mode, align_corners=False))
