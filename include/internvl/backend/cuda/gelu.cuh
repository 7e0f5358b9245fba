// GELU on CUDA, exact erf form:  y = x/2 · erfc(−x/√2)  (gelu_f32 of bias_activation.cuh, in f32, rounded
// once), element by element over the rows (map_rows.cuh). y may be x.
#pragma once

#include "internvl/backend/cuda/bias_activation.cuh"
#include "internvl/backend/cuda/map_rows.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/ops/gelu.hpp"

namespace internvl::cuda {

struct GeluFn {
  static constexpr int kInputs = 1;
  __device__ float operator()(float x, float, int) const { return gelu_f32(x); }
};

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct Gelu<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 2> y, CView<T, 2> x) {
    constexpr std::string_view op = "ops::gelu";
    cuda::detail::check_on_device(op, "y", y);
    cuda::detail::check_on_device(op, "x", x);
    cuda::detail::map_rows(ctx, op, y, x, CView<T, 2>{}, cuda::GeluFn{});
  }
};

}  // namespace internvl::ops
