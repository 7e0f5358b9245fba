// What turns the convolutions into GEMMs on CUDA (conv2d.cuh, conv_transpose2d.cuh): the pixel rows of
// one image x [C, H, W] (any strides) for a block of output pixels q = q0 + r = i·Wo + j,
//   im2col      cols[r, (c·kh + u)·kw + v] = x[c, i·sh − ph + u, j·sw − pw + v]    (0 outside the image)
//   pixel_rows  x itself as the matrix [H·W, C] when its layout already is that (channels contiguous,
//               pixels at one stride: channels-last maps such as heads/token_grid.hpp's), so a 1×1
//               kernel with stride 1 and no padding needs no copy
// For a 1×1 window im2col is the transpose of the [C, H·W] planes into pixel rows (conv_transpose2d also
// transposes its weight with it). Each block moves a 32 × 32 tile (pixels × columns) through shared
// memory: it reads along the pixels (consecutive j, coalesced for rows of x with unit stride) and writes
// along the columns (coalesced rows of cols).
#pragma once

#include <algorithm>
#include <optional>
#include <string_view>

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/backend/cuda/native_types.cuh"

namespace internvl::cuda {

// A convolution window over one image: input size and strides, output width, kernel, stride, padding.
struct ConvWindow {
  index_t in_h, in_w, out_w;
  index_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
  index_t x_channel, x_row, x_column;  // strides of x [C, H, W]
};

template <class T>
ConvWindow conv_window(const TensorView<T, 3>& x, index_t out_w, Extents<2> kernel, Extents<2> stride,
                       Extents<2> padding) {
  return {.in_h = x.size(1),
          .in_w = x.size(2),
          .out_w = out_w,
          .kernel_h = kernel[0],
          .kernel_w = kernel[1],
          .stride_h = stride[0],
          .stride_w = stride[1],
          .pad_h = padding[0],
          .pad_w = padding[1],
          .x_channel = x.stride(0),
          .x_row = x.stride(1),
          .x_column = x.stride(2)};
}

inline constexpr int kIm2colTile = 32;     // pixels × columns per block
inline constexpr int kIm2colThreadsY = 8;  // the block is 32 × 8 threads; each moves 4 elements each way

template <class NT>
__global__ void __launch_bounds__(kIm2colTile* kIm2colThreadsY)
    im2col_kernel(NT* cols, index_t ld, const NT* x, ConvWindow g, index_t q0, index_t rows, index_t depth) {
  __shared__ float tile[kIm2colTile][kIm2colTile + 1];  // [column][pixel], padded against bank conflicts
  const index_t r0 = static_cast<index_t>(blockIdx.x) * kIm2colTile;
  const index_t k0 = static_cast<index_t>(blockIdx.y) * kIm2colTile;
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  if (r0 + tx < rows) {  // read: thread tx takes pixel r0 + tx
    const index_t q = q0 + r0 + tx, i = q / g.out_w, j = q - i * g.out_w;
    const index_t area = g.kernel_h * g.kernel_w;
    for (int s = ty; s < kIm2colTile; s += kIm2colThreadsY) {
      const index_t k = k0 + s;
      float value = 0.0f;
      if (k < depth) {
        const index_t c = k / area, u = (k - c * area) / g.kernel_w, v = k - c * area - u * g.kernel_w;
        const index_t row = i * g.stride_h - g.pad_h + u, col = j * g.stride_w - g.pad_w + v;
        if (row >= 0 && row < g.in_h && col >= 0 && col < g.in_w) {
          value = to_f32(x[c * g.x_channel + row * g.x_row + col * g.x_column]);
        }
      }
      tile[s][tx] = value;
    }
  }
  __syncthreads();
  for (int s = ty; s < kIm2colTile; s += kIm2colThreadsY) {  // write: thread tx takes column k0 + tx
    const index_t r = r0 + s, k = k0 + tx;
    if (r < rows && k < depth) {
      cols[r * ld + k] = from_f32<NT>(tile[tx][s]);
    }
  }
}

namespace detail {

// What both convolutions check before they launch anything: the weight's dtype, that every operand is in
// device memory, and the depth C·kh·kw that the im2col grid holds (one block row per 32 columns of cols).
template <class T>
void check_conv_operands(std::string_view op, View<T, 4> y, CView<T, 4> x, const WeightView<4>& weight,
                         CView<float, 1> bias, index_t depth) {
  check_weight_dtype<T>(op, weight);
  check_on_device(op, "x", x);
  check_on_device(op, "y", y);
  check_on_device(op, "weight", weight.as<T>());
  check_on_device(op, "bias", bias);
  INTERNVL_CHECK(ceil_div(depth, kIm2colTile) <= kMaxGridYZ, op, "a depth of ", depth,
                 " (input channels × kernel area) is too large for one launch (at most ", kMaxGridYZ * kIm2colTile,
                 ")");
}

// Output pixels per GEMM: as many as keep `bytes_per_pixel` of scratch each within 64 MiB, in multiples
// of 64, at most `pixels`.
inline index_t pixels_per_block(index_t bytes_per_pixel, index_t pixels) {
  constexpr index_t kScratchBytes = index_t{64} << 20;
  index_t block = std::max<index_t>(1, kScratchBytes / std::max<index_t>(bytes_per_pixel, 1));
  if (block >= 64) {
    block = block / 64 * 64;
  }
  return std::min(block, pixels);
}

}  // namespace detail

// cols [rows, C·kh·kw] (dense rows) for output pixels [q0, q0 + rows) of the image x [C, H, W].
template <class T>
void im2col(Context<backend::cuda>& ctx, View<T, 2> cols, CView<T, 3> x, const ConvWindow& window, index_t q0) {
  const index_t rows = cols.size(0), depth = cols.size(1);
  if (rows == 0 || depth == 0) {
    return;
  }
  launch(ctx, "im2col", im2col_kernel<native_t<T>>,
         dim3(static_cast<unsigned>(ceil_div(rows, kIm2colTile)), static_cast<unsigned>(ceil_div(depth, kIm2colTile))),
         dim3(kIm2colTile, kIm2colThreadsY), 0, native(cols.data()), cols.stride(0), native(x.data()), window, q0, rows,
         depth);
}

// Image n of x [N, C, H, W] as pixel rows [H·W, C] (row p = i·W + j holds x[n, :, i, j]) without a copy,
// when the layout allows it.
template <class T>
std::optional<CView<T, 2>> pixel_rows(CView<T, 4> x, index_t n) {
  const index_t channels = x.size(1), height = x.size(2), width = x.size(3);
  const bool channels_dense = channels <= 1 || x.stride(1) == 1;
  const bool pixels_collapse = height <= 1 || width <= 1 || x.stride(2) == width * x.stride(3);
  const index_t pitch = width > 1 ? x.stride(3) : height > 1 ? x.stride(2) : channels;
  if (!channels_dense || !pixels_collapse || pitch < channels) {
    return std::nullopt;
  }
  return CView<T, 2>(x.data() + n * x.stride(0), Extents<2>{height * width, channels}, Extents<2>{pitch, 1});
}

}  // namespace internvl::cuda
