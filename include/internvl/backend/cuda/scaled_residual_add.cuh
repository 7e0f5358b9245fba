// LayerScale residual on CUDA:  x[i, :] += γ ⊙ y[i, :]  as one fma in f32, rounded once (map_rows.cuh).
// Inside InternViT blocks the residual is usually fused with the following norm instead
// (scaled_residual_add_norm.cuh).
#pragma once

#include "internvl/backend/cuda/map_rows.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/ops/scaled_residual_add.hpp"

namespace internvl::cuda {

struct ScaledResidualFn {
  static constexpr int kInputs = 2;
  const float* gamma;  // dense [cols]
  __device__ float operator()(float x, float y, int col) const { return fmaf(gamma[col], y, x); }
};

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct ScaledResidualAdd<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 2> x, CView<T, 2> y, CView<float, 1> gamma) {
    constexpr std::string_view op = "ops::scaled_residual_add";
    cuda::detail::check_on_device(op, "x", x);
    cuda::detail::check_on_device(op, "y", y);
    cuda::detail::check_on_device(op, "gamma", gamma);
    cuda::detail::map_rows(ctx, op, x, CView<T, 2>(x), y, cuda::ScaledResidualFn{gamma.data()});
  }
};

}  // namespace internvl::ops
