// ops::conv_transpose2d (kernel 2, stride 2) on CUDA as GEMMs through cuBLASLt (gemm.cuh), image by image
// and in blocks of whole input rows:
//   Wᵀ    = W [C, 4·O] transposed to [(o·2 + a)·2 + b, C]      once per call, in the workspace (im2col.cuh)
//   rows  = pixel rows of x[n] for the block [P_b, C]          a view of channels-last x, im2col otherwise
//   cells = Wᵀ · rowsᵀ  [4·O, P_b]                             f32 accumulation, rounded once to T
//   y[n, o, 2i + a, 2j + b] = cells[(o·2 + a)·2 + b, p(i, j)] + bias[o]    scatter kernel (any strides of
//                                                              y), each thread one output element along
//                                                              an output row, bias added in f32
// The weight must have the activations' dtype (WeightStore<backend::cuda, T> converts it at load time).
// Scratch (the transposed weight, then at most 64 MiB of rows and cells per block) comes from ctx.workspace().
#pragma once

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/gemm.cuh"
#include "internvl/backend/cuda/im2col.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/backend/cuda/transfer.cuh"
#include "internvl/ops/conv_transpose2d.hpp"

namespace internvl::cuda {

// y[o, first_row + r, q] = cells[(o·2 + r % 2)·2 + q % 2, (r / 2)·(out_w / 2) + q / 2] + b[o] for one image
// y [O, 2H, 2W] (any strides), output rows r < out_rows of the block; b may be null.
template <class NT>
__global__ void scatter_cells_kernel(NT* y, index_t y_channel, index_t y_row, index_t y_column, index_t first_row,
                                     index_t out_rows, index_t out_w, const NT* cells, index_t pitch, const float* bias,
                                     index_t bias_stride, index_t total) {
  const index_t step = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t e = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    const index_t q = e % out_w, rest = e / out_w;
    const index_t r = rest % out_rows, o = rest / out_rows;
    const index_t cell = (o * 2 + r % 2) * 2 + q % 2, pixel = r / 2 * (out_w / 2) + q / 2;
    const float b = bias != nullptr ? bias[o * bias_stride] : 0.0f;
    y[o * y_channel + (first_row + r) * y_row + q * y_column] = from_f32<NT>(to_f32(cells[cell * pitch + pixel]) + b);
  }
}

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct ConvTranspose2d<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 4> y, CView<T, 4> x, const WeightView<4>& weight,
                  CView<float, 1> bias) {
    constexpr std::string_view op = "ops::conv_transpose2d";
    const index_t in_channels = x.size(1), out_channels = y.size(1), cells = 4 * out_channels;
    const index_t height = x.size(2), width = x.size(3);
    cuda::detail::check_conv_operands(op, y, x, weight, bias, in_channels);
    if (y.numel() == 0) {
      return;
    }
    const Extents<2> one{1, 1}, none{0, 0};
    const bool gathered = !cuda::pixel_rows(x, 0);
    const index_t bytes_per_pixel = ((gathered ? in_channels : 0) + cells) * index_t{sizeof(T)};
    const index_t rows_per_block =
        std::max<index_t>(1, cuda::detail::pixels_per_block(bytes_per_pixel, height * width) / width);

    auto& ws = ctx.workspace();
    auto scope = ws.scope();
    // Wᵀ[(o·2 + a)·2 + b, c] = W[c, o, a, b]: W seen as one image [C, 1, 4·O] turned into pixel rows.
    const View<T, 2> transposed = ws.template tensor<T>(Extents<2>{cells, in_channels});
    const CView<T, 3> w_image = weight.as<T>().reshape(Extents<3>{in_channels, 1, cells});
    cuda::im2col(ctx, transposed, w_image, cuda::conv_window(w_image, cells, one, one, none), 0);
    const View<T, 2> cols =
        gathered ? ws.template tensor<T>(Extents<2>{rows_per_block * width, in_channels}) : View<T, 2>{};
    const View<T, 2> tile = ws.template tensor<T>(Extents<2>{cells, rows_per_block * width});
    if (in_channels == 0) {  // an empty sum: y = b
      cuda::fill_bytes(ctx, tile, 0);
    }
    for (index_t n = 0; n < x.size(0); ++n) {
      const cuda::ConvWindow window = cuda::conv_window(x[n], width, one, one, none);
      for (index_t i0 = 0; i0 < height; i0 += rows_per_block) {
        const index_t block_rows = std::min(rows_per_block, height - i0), count = block_rows * width;
        CView<T, 2> rows;
        if (gathered) {
          cuda::im2col(ctx, cols.slice(0, 0, count), x[n], window, i0 * width);
          rows = cols.slice(0, 0, count);
        } else {
          rows = cuda::pixel_rows(x, n)->slice(0, i0 * width, i0 * width + count);
        }
        const View<T, 2> out = tile.slice(1, 0, count);
        if (in_channels > 0) {
          cuda::gemm(ctx, out, CView<T, 2>(transposed), rows, static_cast<const T*>(nullptr));
        }
        constexpr int kThreads = 256;
        const index_t total = out_channels * 2 * block_rows * 2 * width;
        cuda::launch(ctx, "scatter_cells", cuda::scatter_cells_kernel<cuda::native_t<T>>,
                     dim3(cuda::grid_stride_blocks(total, kThreads)), dim3(kThreads), 0,
                     cuda::native(y.data() + n * y.stride(0)), y.stride(1), y.stride(2), y.stride(3), 2 * i0,
                     2 * block_rows, 2 * width, cuda::native(out.data()), out.stride(0), bias.data(), bias.stride(0),
                     total);
      }
    }
  }
};

}  // namespace internvl::ops
