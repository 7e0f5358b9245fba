#!/usr/bin/env python3
"""Fixtures for the reference backend's rotary_embedding and embedding, computed by Hugging Face
transformers' Llama rotary embedding (LlamaRotaryEmbedding + apply_rotary_pos_emb, the rotate-half
convention, f32) and torch.nn.functional.embedding on f32 / bf16 / f16 tables.
Run: python3 tests/golden/ops/make_qllama_ops.py  (writes tests/golden/ops/qllama/*.npy)"""
import pathlib

import numpy as np
import torch
import torch.nn.functional as F
from transformers import LlamaConfig
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb

out = pathlib.Path(__file__).resolve().parent / "qllama"
out.mkdir(exist_ok=True)
g = torch.Generator().manual_seed(4096)


def save(name, t):
    np.save(out / f"{name}.npy", t.detach().to(torch.float32).numpy())


# RoPE cases: name, x [B, S, H, Dh], first position, base. The 96 queries with QLLaMA's head dim 128;
# a small batch with an awkward head dim; positions near the end of LLaMA's 2048 window with another base.
for name, shape, first, base in [("small", (2, 5, 3, 6), 0, 10000.0), ("queries", (1, 96, 1, 128), 0, 10000.0),
                                 ("far", (1, 4, 2, 16), 2040, 500000.0)]:
    x = torch.rand(*shape, generator=g) * 4 - 2
    b, s, h, d = shape
    config = LlamaConfig(hidden_size=h * d, num_attention_heads=h, rope_theta=base, max_position_embeddings=4096)
    rotary = LlamaRotaryEmbedding(config)
    positions = torch.arange(first, first + s).unsqueeze(0).expand(b, s)
    cos, sin = rotary(x, positions)
    xh = x.transpose(1, 2)  # transformers rotates [B, H, S, Dh]
    y, _ = apply_rotary_pos_emb(xh, xh, cos, sin)
    save(f"rope_{name}_x", x)
    save(f"rope_{name}_y", y.transpose(1, 2))

# Embedding lookup: a [37, 19] table in each dtype, ids with repeats and both ends of the vocabulary.
ids = torch.tensor([0, 36, 5, 5, 17, 1, 36, 0, 23], dtype=torch.int64)
np.save(out / "embedding_ids.npy", ids.numpy().astype(np.int64))
table = torch.randn(37, 19, generator=g)
for dtype, name in [(torch.float32, "f32"), (torch.bfloat16, "bf16"), (torch.float16, "f16")]:
    stored = table.to(dtype)
    save(f"embedding_table_{name}", stored)
    save(f"embedding_out_{name}", F.embedding(ids, stored))
