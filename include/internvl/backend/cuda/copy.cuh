// Copy on CUDA: one thread per element in a grid-stride loop over A·B·C·D (coalesced along D, the
// dense dimension). Between views of one element type the bits are moved unchanged; between two types
// each value goes through f32 and is rounded to nearest even into y's type.
#pragma once

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/ops/copy.hpp"

namespace internvl::cuda {

template <class NY, class NX>
__global__ void copy_kernel(NY* y, Extents<4> y_strides, const NX* x, Extents<4> x_strides, Extents<4> shape) {
  const index_t total = shape[0] * shape[1] * shape[2] * shape[3];
  const index_t step = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const index_t d = i % shape[3], c = i / shape[3] % shape[2], b = i / (shape[3] * shape[2]) % shape[1];
    const index_t a = i / (shape[3] * shape[2] * shape[1]);
    const NX v = x[a * x_strides[0] + b * x_strides[1] + c * x_strides[2] + d];
    NY& out = y[a * y_strides[0] + b * y_strides[1] + c * y_strides[2] + d];
    if constexpr (std::is_same_v<NY, NX>) {
      out = v;
    } else {
      out = from_f32<NY>(to_f32(v));
    }
  }
}

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct Copy<backend::cuda> {
  template <class U, class T>
  static void run(Context<backend::cuda>& ctx, View<U, 4> y, CView<T, 4> x) {
    constexpr std::string_view op = "ops::copy";
    cuda::detail::check_on_device(op, "y", y);
    cuda::detail::check_on_device(op, "x", x);
    constexpr int kThreads = 256;
    cuda::launch(ctx, "copy", cuda::copy_kernel<cuda::native_t<U>, cuda::native_t<T>>,
                 dim3(cuda::grid_stride_blocks(x.numel(), kThreads)), dim3(kThreads), 0, cuda::native(y.data()),
                 y.strides(), cuda::native(x.data()), x.strides(), x.shape());
  }
};

}  // namespace internvl::ops
