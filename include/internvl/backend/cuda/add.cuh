// Element-wise sum on CUDA:  y = a + b  (map_rows.cuh; in f32, rounded once). y may be a or b.
#pragma once

#include "internvl/backend/cuda/map_rows.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/ops/add.hpp"

namespace internvl::cuda {

struct AddFn {
  static constexpr int kInputs = 2;
  __device__ float operator()(float a, float b, int) const { return a + b; }
};

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct Add<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 2> y, CView<T, 2> a, CView<T, 2> b) {
    constexpr std::string_view op = "ops::add";
    cuda::detail::check_on_device(op, "y", y);
    cuda::detail::check_on_device(op, "a", a);
    cuda::detail::check_on_device(op, "b", b);
    cuda::detail::map_rows(ctx, op, y, a, b, cuda::AddFn{});
  }
};

}  // namespace internvl::ops
