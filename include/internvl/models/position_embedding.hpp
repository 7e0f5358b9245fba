// Resizing InternViT's absolute position embedding to another patch grid (facts §1.2.5):
// keep the class entry, view entries 1..G0² as a G0×G0 image of D channels, resample it with bicubic
// interpolation (PyTorch's F.interpolate, align_corners=False, A = −0.75) in f32 to gh×gw, flatten
// row-major and put the class entry back in front. The native grid is returned unchanged (identity).
// Shapes: table [1 + G0², D] -> [1 + gh·gw, D].
#pragma once

#include <algorithm>
#include <cmath>

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/resize.hpp"
#include "internvl/core/tensor.hpp"

namespace internvl::models {

inline Tensor<float, 2> resize_position_embedding(CView<float, 2> table, index_t grid_h, index_t grid_w) {
  const index_t width = table.size(1);
  const auto native = static_cast<index_t>(std::llround(std::sqrt(static_cast<double>(table.size(0) - 1))));
  INTERNVL_CHECK(native * native + 1 == table.size(0), "position_embedding", "table of ", table.size(0),
                 " entries is not 1 + a square grid");
  Tensor<float, 2> out(Extents<2>{1 + grid_h * grid_w, width});
  std::copy_n(&table(0, 0), width, &out(0, 0));
  Tensor<float, 4> grid(Extents<4>{1, width, native, native});    // [1, D, G0, G0]
  for (index_t n = 0; n < native * native; ++n) {
    for (index_t d = 0; d < width; ++d) {
      grid(0, d, n / native, n % native) = table(1 + n, d);
    }
  }
  Tensor<float, 4> resized(Extents<4>{1, width, grid_h, grid_w});  // [1, D, gh, gw]
  Context<backend::cpu> ctx;
  ops::resize(ctx, resized.view(), grid.view(), ops::ResizeMode::bicubic);
  for (index_t n = 0; n < grid_h * grid_w; ++n) {
    for (index_t d = 0; d < width; ++d) {
      out(1 + n, d) = resized(0, d, n / grid_w, n % grid_w);
    }
  }
  return out;
}

}  // namespace internvl::models
