// The answers CUDA results are checked against: backend::reference, run on the host over all cores
// (independent slices of the problem in parallel). Declared here, compiled by the host compiler in
// oracle.cpp, so nvcc never sees the reference backend (or Eigen).
#pragma once

#include "internvl/core/tensor.hpp"
#include "internvl/ops/attention.hpp"
#include "internvl/ops/linear.hpp"

namespace internvl::testing {

// y = act(x · wᵀ + bias); bias may be empty.
Tensor<float, 2> reference_linear(CView<float, 2> x, CView<float, 2> w, CView<float, 1> bias, ops::Activation act);

Tensor<float, 2> reference_rms_norm(CView<float, 2> x, CView<float, 1> w, float eps);

// q, k, v [B, S, H, Dh] (any strides); options.key_mask, if given, is host memory.
Tensor<float, 4> reference_attention(CView<float, 4> q, CView<float, 4> k, CView<float, 4> v,
                                     const ops::AttentionOptions& options);

}  // namespace internvl::testing
