// cpu conv2d as GEMMs: blocks of output pixels are gathered into patch rows (im2col; for a 1×1 kernel
// with stride 1 and no padding, a plain transpose), multiplied by the kernel seen as the matrix
// [O, C·kh·kw] through ops::linear (bias included), and scattered back into y.
// The weight stays in its stored dtype; scratch comes from the context's workspace.
#pragma once

#include <algorithm>

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/im2col.hpp"
#include "internvl/backend/cpu/linear.hpp"
#include "internvl/ops/conv2d.hpp"

namespace internvl::ops {

template <>
struct Conv2d<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 4> y, CView<float, 4> x, const WeightView<4>& weight,
                  CView<float, 1> bias, Extents<2> stride, Extents<2> padding) {
    const index_t depth = weight.size(1) * weight.size(2) * weight.size(3);
    run_in_blocks(ctx, y, x, weight, bias, stride, padding, cpu::pixel_rows_per_block(depth + weight.size(0)));
  }

  // The same with `block` output pixels per GEMM (the tests use small blocks to cross image and row
  // boundaries cheaply).
  static void run_in_blocks(Context<backend::cpu>& ctx, View<float, 4> y, CView<float, 4> x,
                            const WeightView<4>& weight, CView<float, 1> bias, Extents<2> stride, Extents<2> padding,
                            index_t block) {
    const index_t out_channels = weight.size(0);
    const index_t depth = weight.size(1) * weight.size(2) * weight.size(3);
    const index_t rows = y.size(0) * y.size(2) * y.size(3);
    if (rows == 0) {
      return;
    }
    block = std::clamp<index_t>(block, 1, rows);
    const cpu::ConvGeometry geometry{{y.size(2), y.size(3)}, {weight.size(2), weight.size(3)}, stride, padding};
    const bool pointwise =
        geometry.kernel == Extents<2>{1, 1} && stride == Extents<2>{1, 1} && padding == Extents<2>{0, 0};
    const WeightView<2> matrix = weight.reshape(Extents<2>{out_channels, depth});

    Workspace<>& ws = ctx.workspace();
    auto scope = ws.scope();
    View<float, 2> patches = ws.tensor<float>(Extents<2>{block, depth});
    View<float, 2> out = ws.tensor<float>(Extents<2>{block, out_channels});
    for (index_t q0 = 0; q0 < rows; q0 += block) {
      const index_t count = std::min(block, rows - q0);
      View<float, 2> patch_rows = patches.slice(0, 0, count);
      View<float, 2> out_rows = out.slice(0, 0, count);
      if (pointwise) {
        cpu::gather_pixels<float>(ctx.pool(), patch_rows, x, q0);
      } else {
        cpu::gather_patches(ctx.pool(), patch_rows, x, geometry, q0);
      }
      ops::linear(ctx, out_rows, patch_rows, matrix, bias);
      cpu::scatter_pixels(ctx.pool(), y, out_rows, q0);
    }
  }
};

}  // namespace internvl::ops
