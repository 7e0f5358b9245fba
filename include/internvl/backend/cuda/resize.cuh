// ops::resize on CUDA (bilinear and bicubic, PyTorch's align_corners=False without antialiasing):
//   y[n, c, i, j] = Σ_a wy_a(i) · Σ_b wx_b(j) · x[n, c, iy_a(i), ix_b(j)]
// The taps of every output row and column are ops/resize_taps.hpp's, computed on the host exactly as
// for the other backends and placed in the workspace; one thread per output element (nchw.cuh, any
// strides) sums its 2×2 or 4×4 taps in f32, rows outside and columns inside as the reference does.
#pragma once

#include <vector>

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/host_transfer.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/backend/cuda/nchw.cuh"
#include "internvl/ops/resize_taps.hpp"

namespace internvl::cuda {

// kTaps: 2 (bilinear) or 4 (bicubic); tap k of a bilinear axis beyond count is never read.
template <class NT, int kTaps>
__global__ void resize_kernel(NT* y, Nchw y_map, const NT* x, Nchw x_map, const ops::ResizeTaps* row_taps,
                              const ops::ResizeTaps* column_taps, index_t total) {
  const index_t step = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t e = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    const Nchw::Index at = y_map.index_of(e);
    const ops::ResizeTaps& rows = row_taps[at.i];
    const ops::ResizeTaps& columns = column_taps[at.j];
    const NT* plane = x + x_map.offset(at.n, at.c, 0, 0);
    float sum = 0.0f;
#pragma unroll
    for (int a = 0; a < kTaps; ++a) {
      const NT* line = plane + rows.index[a] * x_map.stride[2];
      float row = 0.0f;
#pragma unroll
      for (int b = 0; b < kTaps; ++b) {
        row = fmaf(columns.weight[b], to_f32(line[columns.index[b] * x_map.stride[3]]), row);
      }
      sum = fmaf(rows.weight[a], row, sum);
    }
    y[y_map.offset(at)] = from_f32<NT>(sum);
  }
}

namespace detail {

// The taps of every output index of an axis resized from `in` to `out`, in the workspace (the caller
// holds a workspace scope).
inline const ops::ResizeTaps* axis_taps(Context<backend::cuda>& ctx, ops::ResizeMode mode, index_t in, index_t out) {
  std::vector<ops::ResizeTaps> taps;
  taps.reserve(static_cast<std::size_t>(out));
  for (index_t d = 0; d < out; ++d) {
    taps.push_back(ops::resize_taps(mode, in, out, d));
  }
  return place_on_backend(ctx, CView<ops::ResizeTaps, 1>(taps.data(), Extents<1>{out})).data();
}

}  // namespace detail

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct Resize<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 4> y, CView<T, 4> x, ResizeMode mode) {
    auto scope = ctx.workspace().scope();
    const ResizeTaps* rows = cuda::detail::axis_taps(ctx, mode, x.size(2), y.size(2));
    const ResizeTaps* columns = cuda::detail::axis_taps(ctx, mode, x.size(3), y.size(3));
    const auto run = [&](auto kernel) {
      cuda::detail::launch_per_output(ctx, "ops::resize", "resize", kernel, y, x, rows, columns);
    };
    if (mode == ResizeMode::bilinear) {
      run(cuda::resize_kernel<cuda::native_t<T>, 2>);
    } else {
      run(cuda::resize_kernel<cuda::native_t<T>, 4>);
    }
  }
};

}  // namespace internvl::ops
