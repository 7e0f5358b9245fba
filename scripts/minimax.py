"""Near-minimax polynomial fits for the scripts that make the library's polynomial constants
(fit_erf.py, fit_exp2.py): a weighted least-squares fit iterated towards minimax (Lawson's
algorithm), each iteration raising the weight of the points where the error is largest."""
import numpy as np


def lawson(x, f, basis, weight, iterations=80):
    """Coefficients c of basis(x) @ c ≈ f minimising max |(basis(x) @ c − f) · weight|, and that max."""
    a = basis(x)
    w = np.ones_like(x)
    for _ in range(iterations):
        c, *_ = np.linalg.lstsq(a * (w * weight)[:, None], f * w * weight, rcond=None)
        err = np.abs((a @ c - f) * weight)
        w = w * (err / err.max()) ** 0.3 + 1e-15
    return c, float(np.abs((a @ c - f) * weight).max())


def powers(t, degree):
    """The monomial basis 1, t, …, t^degree as columns."""
    return np.vander(t, degree + 1, increasing=True)
