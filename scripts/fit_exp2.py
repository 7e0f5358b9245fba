#!/usr/bin/env python3
"""Fits the polynomial of the vectorised 2^x that the cpu attention's online softmax evaluates
(include/internvl/backend/cpu/attention/online_softmax.hpp) and prints it as C++ constants.

  2^x = 2^floor(x) · P(f),   f = x − floor(x) in [0, 1]   (P: degree 5, relative error)

P(f) = 1 + f · Q(f), so that P(0) = 1 exactly: a score at its row's max gives 1, and a key block that
leaves a row's max where it was rescales its state by exactly α = 1. Q is a near-minimax fit of the
relative error of P (Lawson's algorithm, minimax.py) against numpy's float64 exp2, then the
polynomial evaluated by Horner's rule in float32 with the rounded coefficients, which is what the
kernels compute: its relative error is printed too.
Run: python3 scripts/fit_exp2.py   (deterministic)"""
import numpy as np

from minimax import lawson, powers

f = np.linspace(0.0, 1.0, 20001)
q, err = lawson(f, np.exp2(f) - 1, lambda v: v[:, None] * powers(v, 4), np.exp2(-f))

c32 = np.concatenate([[1.0], q]).astype(np.float32)
f32 = np.linspace(0.0, 1.0, 1 << 20, dtype=np.float32)
p = np.full_like(f32, c32[-1])
for coefficient in c32[-2::-1]:
    p = (p * f32 + coefficient).astype(np.float32)
err32 = float(np.abs(p / np.exp2(f32.astype(np.float64)) - 1).max())

print(f"// max fit error {err:.2e}, in float32 Horner {err32:.2e}")
print("inline constexpr float kExp2Fraction[] = {" + ", ".join(f"{v:.9e}f" for v in c32) + "};")
