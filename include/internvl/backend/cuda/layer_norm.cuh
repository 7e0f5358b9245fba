// LayerNorm on CUDA:  y[i, :] = (x[i, :] − μ_i) / sqrt(σ²_i + eps) ⊙ w + b   (biased variance)
// One block of 256 threads per row (norm_row.cuh), three passes over the row (the later two from
// L1/L2): Σx for μ, then Σ(x − μ)² for σ² (two-pass: a large common offset costs no accuracy), then
// the output. Statistics in f32; 16-byte packs when the width and row starts allow. y may be x.
#pragma once

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/backend/cuda/norm_row.cuh"
#include "internvl/ops/layer_norm.hpp"

namespace internvl::ops {

template <>
struct LayerNorm<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 2> y, CView<T, 2> x, CView<float, 1> w, CView<float, 1> b,
                  float eps) {
    constexpr std::string_view op = "ops::layer_norm";
    if (x.numel() == 0) {
      return;
    }
    cuda::detail::check_on_device(op, "x", x);
    cuda::detail::check_on_device(op, "y", y);
    cuda::detail::check_on_device(op, "weight", w);
    cuda::detail::check_on_device(op, "bias", b);
    cuda::detail::norm_rows<config::Norm::layer_norm, false>(ctx, op, y, x, CView<T, 2>{}, CView<float, 1>{}, w, b,
                                                             eps);
  }
};

}  // namespace internvl::ops
