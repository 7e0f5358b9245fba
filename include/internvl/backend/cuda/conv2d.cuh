// ops::conv2d on CUDA as GEMMs through cuBLASLt (gemm.cuh), image by image and in blocks of output pixels:
//   rows = pixel rows of x[n] for the block [P_b, C·kh·kw]    im2col.cuh: a view of x for a 1×1 kernel,
//                                                             stride 1, no padding on channels-last x
//                                                             (the token grid), im2col otherwise
//   out  = W [O, C·kh·kw] · rowsᵀ  [O, P_b]                   f32 accumulation, rounded once to T
//   y[n, o, p] = out[o, p] + b[o]                             written by the GEMM itself when y's planes
//                                                             are dense and there is no bias; otherwise out
//                                                             is a workspace tile that a scatter kernel
//                                                             writes into y (any strides), adding b in f32
// The weight must have the activations' dtype (WeightStore<backend::cuda, T> converts it at load time).
// Scratch (at most 64 MiB of rows and tile per block) comes from ctx.workspace().
#pragma once

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/gemm.cuh"
#include "internvl/backend/cuda/im2col.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/backend/cuda/transfer.cuh"
#include "internvl/ops/conv2d.hpp"

namespace internvl::cuda {

// y[o, p0 + t] = tile[o, t] + b[o] for one image y [O, Ho, Wo] (any strides), t < count; b may be null.
template <class NT>
__global__ void scatter_pixels_kernel(NT* y, index_t y_channel, index_t y_row, index_t y_column, index_t out_w,
                                      const NT* tile, index_t pitch, index_t p0, index_t count, const float* bias,
                                      index_t bias_stride, index_t total) {
  const index_t step = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t e = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    const index_t o = e / count, t = e - o * count;
    const index_t p = p0 + t, i = p / out_w, j = p - i * out_w;
    const float b = bias != nullptr ? bias[o * bias_stride] : 0.0f;
    y[o * y_channel + i * y_row + j * y_column] = from_f32<NT>(to_f32(tile[o * pitch + t]) + b);
  }
}

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct Conv2d<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 4> y, CView<T, 4> x, const WeightView<4>& weight,
                  CView<float, 1> bias, Extents<2> stride, Extents<2> padding) {
    constexpr std::string_view op = "ops::conv2d";
    const index_t out_channels = weight.size(0), depth = weight.size(1) * weight.size(2) * weight.size(3);
    const index_t out_w = y.size(3), pixels = y.size(2) * out_w;
    cuda::detail::check_conv_operands(op, y, x, weight, bias, depth);
    if (y.numel() == 0) {
      return;
    }
    const CView<T, 2> w = weight.as<T>().reshape(Extents<2>{out_channels, depth});
    const Extents<2> kernel{weight.size(2), weight.size(3)};
    const bool pointwise = kernel == Extents<2>{1, 1} && stride == Extents<2>{1, 1} && padding == Extents<2>{0, 0};
    const bool gathered = !(pointwise && cuda::pixel_rows(x, 0));
    const bool planes_dense = (out_w <= 1 || y.stride(3) == 1) && (y.size(2) <= 1 || y.stride(2) == out_w);
    const bool direct =
        bias.data() == nullptr && depth > 0 && planes_dense && (out_channels == 1 || y.stride(1) >= pixels);
    const index_t block = cuda::detail::pixels_per_block(
        ((gathered ? depth : 0) + (direct ? 0 : out_channels)) * index_t{sizeof(T)}, pixels);

    auto& ws = ctx.workspace();
    auto scope = ws.scope();
    const View<T, 2> cols = gathered ? ws.template tensor<T>(Extents<2>{block, depth}) : View<T, 2>{};
    const View<T, 2> tile = direct ? View<T, 2>{} : ws.template tensor<T>(Extents<2>{out_channels, block});
    if (depth == 0) {  // an empty sum: y = b
      cuda::fill_bytes(ctx, tile, 0);
    }
    for (index_t n = 0; n < y.size(0); ++n) {
      const cuda::ConvWindow window = cuda::conv_window(x[n], out_w, kernel, stride, padding);
      for (index_t p0 = 0; p0 < pixels; p0 += block) {
        const index_t count = std::min(block, pixels - p0);
        CView<T, 2> rows;
        if (gathered) {
          cuda::im2col(ctx, cols.slice(0, 0, count), x[n], window, p0);
          rows = cols.slice(0, 0, count);
        } else {
          rows = cuda::pixel_rows(x, n)->slice(0, p0, p0 + count);
        }
        const View<T, 2> out = direct ? View<T, 2>(y.data() + n * y.stride(0) + p0, Extents<2>{out_channels, count},
                                                   Extents<2>{y.stride(1), 1})
                                      : tile.slice(1, 0, count);
        if (depth > 0) {
          cuda::gemm(ctx, out, w, rows, static_cast<const T*>(nullptr));
        }
        if (!direct) {
          constexpr int kThreads = 256;
          const index_t total = out_channels * count;
          cuda::launch(ctx, "scatter_pixels", cuda::scatter_pixels_kernel<cuda::native_t<T>>,
                       dim3(cuda::grid_stride_blocks(total, kThreads)), dim3(kThreads), 0,
                       cuda::native(y.data() + n * y.stride(0)), y.stride(1), y.stride(2), y.stride(3), out_w,
                       cuda::native(out.data()), out.stride(0), p0, count, bias.data(), bias.stride(0), total);
        }
      }
    }
  }
};

}  // namespace internvl::ops
