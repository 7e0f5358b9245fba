// Scalar definitions of the element-wise functions, used by the reference backend (they are the
// definition the vector kernels are tested against):
//   gelu(x) = x/2 · (1 + erf(x/√2)) = x/2 · erfc(−x/√2)   (exact form, PyTorch's nn.GELU() default)
//   silu(x) = x · σ(x) = x / (1 + e^-x)
// Both are evaluated in double and rounded once. gelu uses the erfc form: the same function, but
// without the cancellation of 1 + erf(x/√2) for x ≪ 0, so the negative tail keeps its digits.
#pragma once

#include <cmath>

namespace internvl {

inline constexpr double kInvSqrt2 = 0.70710678118654752440;

inline float gelu(float x) {
  const double v = x;
  return static_cast<float>(0.5 * v * std::erfc(-v * kInvSqrt2));
}

inline float silu(float x) {
  const double v = x;
  return static_cast<float>(v / (1.0 + std::exp(-v)));
}

}  // namespace internvl
