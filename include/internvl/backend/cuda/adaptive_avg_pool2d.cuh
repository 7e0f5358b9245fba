// Adaptive average pooling on CUDA (the UperNet pyramid pooling's 1, 2, 3, 6 bins): output cell (i, j)
// is the mean of the input rows [r0(i), r1(i)) and columns [c0(j), c1(j)) of ops::adaptive_pool_bin.
// One thread per output element in a grid-stride loop, x and y with any strides (nchw.cuh); the bin is
// summed in f32 with compensation (compensated_sum.cuh), so a whole 64×64 map loses no accuracy.
#pragma once

#include "internvl/backend/cuda/compensated_sum.cuh"
#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/backend/cuda/nchw.cuh"
#include "internvl/ops/adaptive_avg_pool2d.hpp"

namespace internvl::cuda {

template <class NT>
__global__ void adaptive_avg_pool2d_kernel(NT* y, Nchw y_map, const NT* x, Nchw x_map, index_t total) {
  const index_t step = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t e = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    const Nchw::Index at = y_map.index_of(e);
    const ops::PoolBin rows = ops::adaptive_pool_bin(at.i, x_map.size[2], y_map.size[2]);
    const ops::PoolBin cols = ops::adaptive_pool_bin(at.j, x_map.size[3], y_map.size[3]);
    const NT* plane = x + x_map.offset(at.n, at.c, 0, 0);
    CompensatedSum sum;
    for (index_t r = rows.begin; r < rows.end; ++r) {
      for (index_t c = cols.begin; c < cols.end; ++c) {
        sum.add(to_f32(plane[r * x_map.stride[2] + c * x_map.stride[3]]));
      }
    }
    const auto count = static_cast<float>((rows.end - rows.begin) * (cols.end - cols.begin));
    y[y_map.offset(at)] = from_f32<NT>(sum.total() / count);
  }
}

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct AdaptiveAvgPool2d<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 4> y, CView<T, 4> x) {
    cuda::detail::launch_per_output(ctx, "ops::adaptive_avg_pool2d", "adaptive_avg_pool2d",
                                    cuda::adaptive_avg_pool2d_kernel<cuda::native_t<T>>, y, x);
  }
};

}  // namespace internvl::ops
