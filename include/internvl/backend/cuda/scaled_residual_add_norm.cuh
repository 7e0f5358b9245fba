// The LayerScale residual and the following norm fused on CUDA:  x += γ ⊙ y;  h = Norm(x)
// One block of 256 threads per row (norm_row.cuh): the residual prologue reads x and y, writes the new
// x (rounded to the element type) and accumulates the statistics of exactly the stored values, so the
// result equals the two separate ops (ops/scaled_residual_add_norm.hpp) up to the order of the f32
// sums. DRAM traffic per row: read x, y; write x, h (4 row transfers) instead of 5 for the two ops
// (read x, y, write x; read x, write h), and one launch instead of two.
#pragma once

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/backend/cuda/norm_row.cuh"
#include "internvl/ops/scaled_residual_add_norm.hpp"

namespace internvl::ops {

template <>
struct ScaledResidualAddNorm<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 2> x, View<T, 2> h, CView<T, 2> y, CView<float, 1> gamma,
                  config::Norm norm, CView<float, 1> w, CView<float, 1> b, float eps) {
    constexpr std::string_view op = "ops::scaled_residual_add_norm";
    if (x.numel() == 0) {
      return;
    }
    cuda::detail::check_on_device(op, "x", x);
    cuda::detail::check_on_device(op, "h", h);
    cuda::detail::check_on_device(op, "y", y);
    cuda::detail::check_on_device(op, "gamma", gamma);
    cuda::detail::check_on_device(op, "weight", w);
    if (norm == config::Norm::rms_norm) {
      cuda::detail::norm_rows<config::Norm::rms_norm, true>(ctx, op, h, x, y, gamma, w, CView<float, 1>{}, eps);
    } else {
      cuda::detail::check_on_device(op, "bias", b);
      cuda::detail::norm_rows<config::Norm::layer_norm, true>(ctx, op, h, x, y, gamma, w, b, eps);
    }
  }
};

}  // namespace internvl::ops
