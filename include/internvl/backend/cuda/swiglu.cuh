// SwiGLU on CUDA:  out = silu(gate) · up,  silu(g) = g / (1 + e^−g)  (in f32 with the exact expf, rounded
// once), element by element over the rows (map_rows.cuh). out may be gate or up.
#pragma once

#include "internvl/backend/cuda/map_rows.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/ops/swiglu.hpp"

namespace internvl::cuda {

struct SwigluFn {
  static constexpr int kInputs = 2;
  __device__ float operator()(float gate, float up, int) const { return gate / (1.0f + expf(-gate)) * up; }
};

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct Swiglu<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 2> out, CView<T, 2> gate, CView<T, 2> up) {
    constexpr std::string_view op = "ops::swiglu";
    cuda::detail::check_on_device(op, "out", out);
    cuda::detail::check_on_device(op, "gate", gate);
    cuda::detail::check_on_device(op, "up", up);
    cuda::detail::map_rows(ctx, op, out, gate, up, cuda::SwigluFn{});
  }
};

}  // namespace internvl::ops
