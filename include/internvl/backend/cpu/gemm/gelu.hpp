// The exact-erf GELU of the GEMM epilogue, gelu(v) = v/2 · (1 + erf(v/√2)), as the vector kernels
// evaluate it (each path stamps it with its own intrinsics; the method and constants live here):
//   x = |v|/√2;  gelu(v) = (v + |v| · erf(x)) / 2          (erf is odd, so only x >= 0 is needed)
//   erf(x) = x · P(x²)                                  x < 0.75
//   erf(x) = 1 − e^(−x²) · Q((x − 2.375) / 1.625)       0.75 <= x, x clamped to 4 (erf(4) = 1 − 1.5e-8)
//   e^z    = 2^n · E(z − n·ln2),  n = round(z / ln2)    (ln2 split in two for an exact reduction)
// P, Q, E are near-minimax fits made by scripts/fit_erf.py; in f32 arithmetic with FMA the result is
// within 1.1e-7 of erf over the whole line (tests/ops/test_linear.cpp checks 2e-7 on every path).
#pragma once

namespace internvl::cpu::erf_approx {

inline constexpr float kInvSqrt2 = 0.70710678118654752f;
inline constexpr float kSplit = 0.75f;    // below: the odd polynomial; above: the erfc form
inline constexpr float kSaturate = 4.0f;  // erf(x) is 1 to f32 precision beyond
inline constexpr float kQScale = 1.0f / 1.625f;
inline constexpr float kQShift = -2.375f / 1.625f;  // Q's argument: x · kQScale + kQShift, in [-1, 1]

// Coefficients, lowest degree first.
inline constexpr float kP[] = {1.128379158e+00f,  -3.761259154e-01f, 1.128310949e-01f,
                               -2.682388573e-02f, 5.095409840e-03f,  -6.627895361e-04f};
inline constexpr float kQ[] = {2.205053940e-01f,  -1.315998049e-01f, 7.436873116e-02f, -4.004819180e-02f,
                               2.196214050e-02f,  -8.088833153e-03f, 4.493932258e-03f, -8.855241296e-03f,
                               -7.091151142e-03f, -4.106527274e-03f};
inline constexpr float kE[] = {1.000000001e+00f, 1.000000036e+00f, 4.999999208e-01f, 1.666642024e-01f,
                               4.166822661e-02f, 8.374810526e-03f, 1.383676150e-03f};

inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693145751953125f;  // few mantissa bits: n · kLn2Hi is exact
inline constexpr float kLn2Lo = 1.428606765330187e-06f;

}  // namespace internvl::cpu::erf_approx
