// Scalar definitions of the element-wise functions, shared by the reference backend and by the
// scalar tails of vector kernels:
//   gelu(x) = x/2 · (1 + erf(x/√2))   (exact form, PyTorch's nn.GELU() default)
//   silu(x) = x · σ(x) = x / (1 + e^-x)
// Host and device: the CUDA kernels call the same definitions.
#pragma once

#include <cmath>

#include "internvl/core/macros.hpp"

namespace internvl {

INTERNVL_HOST_DEVICE inline float gelu(float x) { return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f)); }

INTERNVL_HOST_DEVICE inline float silu(float x) { return x / (1.0f + std::exp(-x)); }

}  // namespace internvl
