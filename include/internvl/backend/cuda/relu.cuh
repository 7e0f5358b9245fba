// ReLU on CUDA:  y = x < 0 ? 0 : x  (NaN is not < 0, so it passes through, as in PyTorch), element by
// element over the rows (map_rows.cuh); exact in every element type. y may be x.
#pragma once

#include "internvl/backend/cuda/map_rows.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/ops/relu.hpp"

namespace internvl::cuda {

struct ReluFn {
  static constexpr int kInputs = 1;
  __device__ float operator()(float x, float, int) const { return x < 0.0f ? 0.0f : x; }
};

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct Relu<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 2> y, CView<T, 2> x) {
    constexpr std::string_view op = "ops::relu";
    cuda::detail::check_on_device(op, "y", y);
    cuda::detail::check_on_device(op, "x", x);
    cuda::detail::map_rows(ctx, op, y, x, CView<T, 2>{}, cuda::ReluFn{});
  }
};

}  // namespace internvl::ops
