// The patch tokens of a hidden state as an NCHW feature map, without copying (facts §6: segmentation
// features drop the class token and read the row-major tokens as a grid):
//   map[b, c, y, x] = tokens[b, 1 + y·Gw + x, c]
// tokens [B, 1 + Gh·Gw, D] (dense rows) -> map [B, D, Gh, Gw] with strides [S·D, 1, Gw·D, D].
// Ops that accept any strides (conv2d, conv_transpose2d, max_pool2d, ...) read it directly.
#pragma once

#include "internvl/core/error.hpp"
#include "internvl/core/tensor.hpp"

namespace internvl::heads {

template <class T>
CView<T, 4> token_grid(CView<T, 3> tokens, index_t grid_h, index_t grid_w) {
  INTERNVL_CHECK(tokens.size(1) == 1 + grid_h * grid_w && tokens.stride(2) == 1, "heads::token_grid", "tokens ",
                 shape_string(tokens), " are not a class token plus a ", grid_h, "x", grid_w, " grid of dense rows");
  const index_t width = tokens.size(2);
  return {tokens.data() + tokens.stride(1), Extents<4>{tokens.size(0), width, grid_h, grid_w},
          Extents<4>{tokens.stride(0), 1, grid_w * tokens.stride(1), tokens.stride(1)}};
}

}  // namespace internvl::heads
