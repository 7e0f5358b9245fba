// Reference resize: every output element is the double sum over its 2x2 (bilinear) or 4x4 (bicubic)
// input taps, rows outside, columns inside, with the taps of ops/resize_taps.hpp.
#pragma once

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/resize_taps.hpp"

namespace internvl::ops {

template <>
struct Resize<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 4> y, CView<float, 4> x, ResizeMode mode) {
    for (index_t i = 0; i < y.size(2); ++i) {
      const ResizeTaps ty = resize_taps(mode, x.size(2), y.size(2), i);
      for (index_t j = 0; j < y.size(3); ++j) {
        const ResizeTaps tx = resize_taps(mode, x.size(3), y.size(3), j);
        for (index_t n = 0; n < y.size(0); ++n) {
          for (index_t c = 0; c < y.size(1); ++c) {
            double acc = 0.0;
            for (int a = 0; a < ty.count; ++a) {
              double row = 0.0;
              for (int b = 0; b < tx.count; ++b) {
                row += static_cast<double>(tx.weight[b]) * x(n, c, ty.index[a], tx.index[b]);
              }
              acc += ty.weight[a] * row;
            }
            y(n, c, i, j) = static_cast<float>(acc);
          }
        }
      }
    }
  }
};

}  // namespace internvl::ops
