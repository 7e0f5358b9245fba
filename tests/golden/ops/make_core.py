#!/usr/bin/env python3
"""Fixtures for the reference backend's rms_norm, linear, patch embedding, pixel shuffle and matmul,
computed by PyTorch's own ops (F.rms_norm, F.linear, F.gelu, F.conv2d, transformers' pixel_shuffle,
torch.matmul) in float64 from float32 inputs. Weights meant to be stored as
bf16 / f16 are rounded by torch first and saved as the float32 values they represent.
Run: python3 tests/golden/ops/make_core.py  (writes tests/golden/ops/core/*.npy)"""
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

out = pathlib.Path(__file__).resolve().parent / "core"
out.mkdir(exist_ok=True)
g = torch.Generator().manual_seed(2024)


def save(name, t):
    np.save(out / f"{name}.npy", t.detach().to(torch.float32).numpy())


def rand(*shape):
    return torch.rand(*shape, generator=g) * 2 - 1


# rms_norm: rows of awkward widths, one row of large values, eps 1e-6.
x = rand(5, 67) * 3
x[2] *= 1000
w = rand(67)
save("rms_norm_x", x)
save("rms_norm_w", w)
save("rms_norm_y", F.rms_norm(x.double(), (67,), w.double(), eps=1e-6))

# linear: y = act(x Wᵀ + b) with the weight stored as f32, bf16 and f16.
x = rand(7, 33)
b = rand(19)
save("linear_x", x)
save("linear_b", b)
for dtype, name in [(torch.float32, "f32"), (torch.bfloat16, "bf16"), (torch.float16, "f16")]:
    wq = (rand(19, 33)).to(dtype).to(torch.float64)  # the value the stored weight represents
    save(f"linear_w_{name}", wq)
    y = F.linear(x.double(), wq, b.double())
    save(f"linear_y_{name}", y)
    save(f"linear_y_gelu_{name}", F.gelu(y))
    save(f"linear_y_nobias_{name}", F.linear(x.double(), wq))

# patch embedding: Conv2d(3 -> 5, kernel 14, stride 14) on a 28x42 image pair, as tokens [B, Gh·Gw, D].
x = rand(2, 3, 28, 42)
w = rand(5, 3, 14, 14)
b = rand(5)
save("patch_x", x)
save("patch_w", w)
save("patch_b", b)
save("patch_tokens", F.conv2d(x.double(), w.double(), b.double(), stride=14).flatten(2).transpose(1, 2))

# pixel shuffle v2 as transformers' InternVLModel.pixel_shuffle computes it (on [B, G, G, C]).
from transformers import InternVLConfig, InternVLModel, InternVLVisionConfig, Qwen2Config  # noqa: E402

tokens = rand(2, 36, 5)  # G = 6
shuffler = InternVLModel(InternVLConfig(
    vision_config=InternVLVisionConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8),
    text_config=Qwen2Config(hidden_size=8, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                            intermediate_size=8, vocab_size=8)))
save("pixel_shuffle_in", tokens)
save("pixel_shuffle_v2", shuffler.pixel_shuffle(tokens.reshape(2, 6, 6, 5), scale_factor=0.5).reshape(2, 9, 20))

# matmul: c[b] = a[b] · b[b]ᵀ over a batch of 3, with b stored as f32, bf16 and f16.
a = rand(3, 7, 33)
save("matmul_a", a)
for dtype, name in [(torch.float32, "f32"), (torch.bfloat16, "bf16"), (torch.float16, "f16")]:
    bq = rand(3, 19, 33).to(dtype).to(torch.float64)
    save(f"matmul_b_{name}", bq)
    save(f"matmul_c_{name}", torch.matmul(a.double(), bq.transpose(-1, -2)))
