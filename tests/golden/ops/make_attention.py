#!/usr/bin/env python3
"""Fixtures for the reference backend's attention, computed by PyTorch's
F.scaled_dot_product_attention in float64 from float32 inputs.

Our layout is [B, S, H, Dh]; SDPA's is [B, H, S, Dh], so inputs are transposed on the way in and
the output on the way out. A key mask [B, Sk] (1 = visible) becomes SDPA's boolean attn_mask
broadcast to [B, 1, Sq, Sk]; causal uses is_causal=True when Sq == Sk and there is no key mask, else
the mask AND a lower-triangular matrix whose diagonal is shifted by Sk - Sq (SDPA refuses both at once,
and its is_causal aligns the queries with the first keys, where ours are the last positions).

Fully masked query rows: PyTorch >= 2.5 returns 0 for them in SDPA (its "safe softmax"), the same
as our contract; a plain softmax over an all -inf row (older PyTorch, eager attention code with
additive -inf masks) gives NaN instead. The script asserts that the PyTorch it runs gives 0, so
the fixtures below pin our contract to an independent implementation.

Run: python3 tests/golden/ops/make_attention.py  (writes tests/golden/ops/attention/*.npy)"""
import math
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

out = pathlib.Path(__file__).resolve().parent / "attention"
out.mkdir(exist_ok=True)
g = torch.Generator().manual_seed(2025)


def rand(*shape):
    return torch.rand(*shape, generator=g) * 2 - 1


def sdpa(q, k, v, scale, causal, key_mask):
    """q [B, Sq, H, Dh], k/v [B, Sk, H, Dh], key_mask [B, Sk] bool or None -> [B, Sq, H, Dh] (float64)."""
    qt, kt, vt = (t.double().transpose(1, 2) for t in (q, k, v))
    sq, sk = q.shape[1], k.shape[1]
    if key_mask is None and (not causal or sq == sk):
        o = F.scaled_dot_product_attention(qt, kt, vt, is_causal=causal, scale=scale)
    else:
        mask = torch.ones(q.shape[0], 1, sq, sk, dtype=torch.bool)
        if key_mask is not None:
            mask = mask & key_mask[:, None, None, :]
        if causal:  # our queries are the last Sq positions (is_causal would align them with the first)
            mask = mask & torch.ones(sq, sk, dtype=torch.bool).tril(diagonal=sk - sq)
        o = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=mask, scale=scale)
    return o.transpose(1, 2)


def case(name, b, sq, sk, h, dh, scale=None, causal=False, key_mask=None):
    q, k, v = rand(b, sq, h, dh), rand(b, sk, h, dh), rand(b, sk, h, dh) * 2
    scale = 1 / math.sqrt(dh) if scale is None else scale
    o = sdpa(q, k, v, scale, causal, key_mask)
    for label, t in [("q", q), ("k", k), ("v", v), ("o", o)]:
        np.save(out / f"{name}_{label}.npy", t.to(torch.float32).numpy())
    if key_mask is not None:
        np.save(out / f"{name}_mask.npy", key_mask.to(torch.uint8).numpy())
    np.save(out / f"{name}_params.npy", np.array([scale, float(causal)], dtype=np.float32))
    return o


# Self attention, no mask.
case("self", b=2, sq=13, sk=13, h=3, dh=8)
# Causal self attention.
case("causal", b=2, sq=11, sk=11, h=3, dh=24, causal=True)
# Key mask with holes; in batch 1 every key is hidden, so every query of batch 1 sees nothing.
mask = torch.rand(2, 19, generator=g) > 0.3
mask[0, 0] = True
mask[1, :] = False
o = case("masked", b=2, sq=19, sk=19, h=3, dh=40, key_mask=mask)
assert torch.all(o[1] == 0), "this PyTorch does not return 0 for fully masked rows; see the docstring"
# Causal and a key mask: key 0 hidden in batch 0, so query 0 of batch 0 sees no key at all.
mask = torch.rand(2, 17, generator=g) > 0.25
mask[0, 0] = False
mask[1, 0] = True
o = case("causal_masked", b=2, sq=17, sk=17, h=3, dh=17, causal=True, key_mask=mask)
assert torch.all(o[0, 0] == 0)
# Cross attention (Sq != Sk) with a key mask and a non-default scale.
mask = torch.rand(2, 19, generator=g) > 0.4
mask[:, 3] = True
case("cross", b=2, sq=5, sk=19, h=3, dh=16, scale=0.3, key_mask=mask)
# Causal with fewer queries than keys (the queries are the last positions: a text after a prefix every
# text position sees), with a key mask hiding some of the prefix.
mask = torch.rand(2, 23, generator=g) > 0.2
case("causal_cross", b=2, sq=6, sk=23, h=2, dh=16, causal=True, key_mask=mask)
