// cpu conv_transpose2d (kernel 2, stride 2) as one GEMM per block of input pixels: the pixels'
// channel vectors [rows, C] times the weight rearranged to [(o, a, b), C] (a transpose of W seen as
// [C, 4·O], in its stored dtype) give each pixel's 2×2 output cell for every channel, which is then
// scattered to y[n, o, 2i + a, 2j + b]. Scratch comes from the context's workspace.
#pragma once

#include <algorithm>

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/im2col.hpp"
#include "internvl/backend/cpu/linear.hpp"
#include "internvl/ops/conv_transpose2d.hpp"

namespace internvl::ops {

template <>
struct ConvTranspose2d<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 4> y, CView<float, 4> x, const WeightView<4>& weight,
                  CView<float, 1> bias) {
    run_in_blocks(ctx, y, x, weight, bias, cpu::pixel_rows_per_block(x.size(1) + 4 * y.size(1)));
  }

  // The same with `block` input pixels per GEMM (the tests use small blocks to cross boundaries cheaply).
  static void run_in_blocks(Context<backend::cpu>& ctx, View<float, 4> y, CView<float, 4> x,
                            const WeightView<4>& weight, CView<float, 1> bias, index_t block) {
    const index_t in_channels = x.size(1), out_channels = y.size(1), cells = 4 * out_channels;
    const index_t rows = x.size(0) * x.size(2) * x.size(3);
    if (rows == 0) {
      return;
    }
    block = std::clamp<index_t>(block, 1, rows);
    Workspace<>& ws = ctx.workspace();
    auto scope = ws.scope();
    // matrix[(o·2 + a)·2 + b, c] = W[c, o, a, b]: W as a one-row "image" [1, C, 1, 4·O] gathered to pixel rows.
    const WeightView<2> matrix = weight.visit([&]<class T>(CView<T, 4> w) {
      View<T, 2> transposed = ws.tensor<T>(Extents<2>{cells, in_channels});
      cpu::gather_pixels<T>(ctx.pool(), transposed, w.reshape(Extents<4>{1, in_channels, 1, cells}), 0);
      return WeightView<2>(transposed);
    });
    View<float, 1> cell_bias;
    if (bias.data() != nullptr) {
      cell_bias = ws.tensor<float>(Extents<1>{cells});
      for (index_t k = 0; k < cells; ++k) {
        cell_bias(k) = bias(k / 4);
      }
    }

    View<float, 2> pixels = ws.tensor<float>(Extents<2>{block, in_channels});
    View<float, 2> out = ws.tensor<float>(Extents<2>{block, cells});
    for (index_t q0 = 0; q0 < rows; q0 += block) {
      const index_t count = std::min(block, rows - q0);
      View<float, 2> pixel_rows = pixels.slice(0, 0, count);
      View<float, 2> out_rows = out.slice(0, 0, count);
      cpu::gather_pixels<float>(ctx.pool(), pixel_rows, x, q0);
      ops::linear(ctx, out_rows, pixel_rows, matrix, cell_bias);
      scatter_cells(ctx.pool(), y, out_rows, q0, x.size(2) * x.size(3), x.size(3));
    }
  }

 private:
  // y[n, o, 2i + a, 2j + b] = rows[r, (o·2 + a)·2 + b] for input pixel q = q0 + r = (n·H + i)·W + j,
  // split over tiles of 4 output channels (one cache line of a row).
  static void scatter_cells(ThreadPool& pool, View<float, 4> y, CView<float, 2> rows, index_t q0, index_t pixels,
                            index_t width) {
    constexpr index_t kTile = 4;
    const index_t channels = y.size(1), tiles = (channels + kTile - 1) / kTile;
    pool.parallel_for(tiles, 1, [&](index_t tile_begin, index_t tile_end) {
      for (index_t tile = tile_begin; tile < tile_end; ++tile) {
        const index_t o_begin = tile * kTile, o_end = std::min(channels, o_begin + kTile);
        for (index_t r = 0; r < rows.size(0); ++r) {
          const index_t q = q0 + r, n = q / pixels, i = q % pixels / width, j = q % width;
          const float* src = &rows(r, 0);
          for (index_t o = o_begin; o < o_end; ++o) {
            for (index_t a = 0; a < 2; ++a) {
              float* dst = &y(n, o, 2 * i + a, 2 * j);
              dst[0] = src[(o * 2 + a) * 2];
              dst[y.stride(3)] = src[(o * 2 + a) * 2 + 1];
            }
          }
        }
      }
    });
  }
};

}  // namespace internvl::ops
