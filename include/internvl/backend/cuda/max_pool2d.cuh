// 2×2 max pooling with stride 2 on CUDA:  y[n, c, i, j] = max of x[n, c, 2i .. 2i + 1, 2j .. 2j + 1],
// NaN if any of the four is NaN (as PyTorch). One thread per output element in a grid-stride loop, x and
// y with any strides (nchw.cuh); comparisons in f32, so the result is one of the inputs, exactly.
#pragma once

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/backend/cuda/nchw.cuh"
#include "internvl/ops/max_pool2d.hpp"

namespace internvl::cuda {

template <class NT>
__global__ void max_pool2d_kernel(NT* y, Nchw y_map, const NT* x, Nchw x_map, index_t total) {
  const index_t step = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t e = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    const Nchw::Index at = y_map.index_of(e);
    const NT* window = x + x_map.offset(at.n, at.c, 2 * at.i, 2 * at.j);
    float best = -INFINITY;
    for (int a = 0; a < 2; ++a) {
      for (int b = 0; b < 2; ++b) {
        const float v = to_f32(window[a * x_map.stride[2] + b * x_map.stride[3]]);
        best = (v > best || isnan(v)) ? v : best;
      }
    }
    y[y_map.offset(at)] = from_f32<NT>(best);
  }
}

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct MaxPool2d<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 4> y, CView<T, 4> x) {
    cuda::detail::launch_per_output(ctx, "ops::max_pool2d", "max_pool2d", cuda::max_pool2d_kernel<cuda::native_t<T>>, y,
                                    x);
  }
};

}  // namespace internvl::ops
