#!/usr/bin/env python3
"""Fits the polynomials of the vectorised erf used by the cpu GEMM's GELU epilogue
(include/internvl/backend/cpu/gemm/gelu.hpp) and prints them as C++ constants.

  erf(x) = x · P(x²)                               for |x| < 0.75       (P: degree 5)
  erf(x) = 1 − e^(−x²) · Q((|x| − 2.375) / 1.625)   for 0.75 <= |x| <= 4 (Q ≈ e^(x²)·erfc(x), degree 9)
  e^r    = E(r)                                    for |r| <= ln2/2     (E: degree 6; e^z = 2^n · e^r)

Each fit is a weighted least-squares fit iterated towards minimax (Lawson's algorithm, minimax.py)
against mpmath at 30 digits; weights make the error of erf itself (absolute) and of e^r (relative) uniform.
Run: python3 scripts/fit_erf.py   (deterministic; prints the coefficients and the fit errors)"""
import mpmath as mp
import numpy as np

from minimax import lawson, powers

mp.mp.dps = 30

x = np.linspace(1e-6, 0.75, 5000)
p, p_err = lawson(x, np.array([float(mp.erf(v) / v) for v in x]), lambda v: powers(v * v, 5), x)

x = np.linspace(0.75, 4.0, 8000)
erfcx = np.array([float(mp.erfc(v) * mp.exp(v * v)) for v in x])
q, q_err = lawson(x, erfcx, lambda v: powers((v - 2.375) / 1.625, 9), np.exp(-x * x))

r = np.linspace(-np.log(2) / 2, np.log(2) / 2, 4000)
e, e_err = lawson(r, np.exp(r), lambda v: powers(v, 6), np.exp(-r))

for name, c, err in [("kErfSmall", p, p_err), ("kErfcxLarge", q, q_err), ("kExpReduced", e, e_err)]:
    print(f"// max fit error {err:.2e}")
    print(f"inline constexpr float {name}[] = {{" + ", ".join(f"{v:.9e}f" for v in c) + "};")
