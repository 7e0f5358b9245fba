// [N, C, H, W] maps with any strides as kernel arguments, for the kernels that give each output element
// of a map its own thread (pooling, resizing):
//   const Nchw y_map = nchw_of(y);                 // on the host
//   const Nchw::Index at = y_map.index_of(e);      // on the device: element e in row-major order (j fastest)
//   y[y_map.offset(at)] = ...;                     // its offset in elements
// and detail::launch_per_output, which launches such a kernel, kernel(y, y_map, x, x_map, extra..., total),
// over the elements of y in a grid-stride loop.
#pragma once

#include <string_view>

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/core/tensor_view.hpp"

namespace internvl::cuda {

struct Nchw {
  struct Index {
    index_t n, c, i, j;
  };

  index_t size[4];
  index_t stride[4];

  INTERNVL_HOST_DEVICE index_t numel() const { return size[0] * size[1] * size[2] * size[3]; }

  __device__ Index index_of(index_t e) const {
    Index at;
    at.j = e % size[3];
    e /= size[3];
    at.i = e % size[2];
    e /= size[2];
    at.c = e % size[1];
    at.n = e / size[1];
    return at;
  }
  __device__ index_t offset(index_t n, index_t c, index_t i, index_t j) const {
    return n * stride[0] + c * stride[1] + i * stride[2] + j * stride[3];
  }
  __device__ index_t offset(const Index& at) const { return offset(at.n, at.c, at.i, at.j); }
};

template <class T>
Nchw nchw_of(const TensorView<T, 4>& v) {
  return {{v.size(0), v.size(1), v.size(2), v.size(3)}, {v.stride(0), v.stride(1), v.stride(2), v.stride(3)}};
}

namespace detail {

// One thread per element of y (any strides, as x): checks that both point to device memory, then launches
// kernel(y, y_map, x, x_map, extra..., y.numel()); nothing for an empty y.
template <class T, class Kernel, class... Extra>
void launch_per_output(Context<backend::cuda>& ctx, std::string_view op, const char* name, Kernel kernel, View<T, 4> y,
                       CView<T, 4> x, const Extra&... extra) {
  const index_t total = y.numel();
  if (total == 0) {
    return;
  }
  check_on_device(op, "x", x);
  check_on_device(op, "y", y);
  constexpr int kThreads = 256;
  launch(ctx, name, kernel, dim3(grid_stride_blocks(total, kThreads)), dim3(kThreads), 0, native(y.data()), nchw_of(y),
         native(x.data()), nchw_of(x), extra..., total);
}

}  // namespace detail

}  // namespace internvl::cuda
