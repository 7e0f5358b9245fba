// Reference conv2d: the defining sum, one output element at a time, accumulated in double, with the
// weight read in its stored dtype and widened exactly.
#pragma once

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/conv2d.hpp"

namespace internvl::ops {

template <>
struct Conv2d<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 4> y, CView<float, 4> x, const WeightView<4>& weight,
                  CView<float, 1> bias, Extents<2> stride, Extents<2> padding) {
    const index_t channels = x.size(1), height = x.size(2), width = x.size(3);
    weight.visit([&]<class T>(CView<T, 4> w) {
      const index_t kernel_h = w.size(2), kernel_w = w.size(3);
      for (index_t n = 0; n < y.size(0); ++n) {
        for (index_t o = 0; o < y.size(1); ++o) {
          for (index_t i = 0; i < y.size(2); ++i) {
            for (index_t j = 0; j < y.size(3); ++j) {
              double acc = bias.data() ? bias(o) : 0.0;
              for (index_t c = 0; c < channels; ++c) {
                for (index_t u = 0; u < kernel_h; ++u) {
                  const index_t row = i * stride[0] - padding[0] + u;
                  if (row < 0 || row >= height) {
                    continue;
                  }
                  for (index_t v = 0; v < kernel_w; ++v) {
                    const index_t col = j * stride[1] - padding[1] + v;
                    if (col >= 0 && col < width) {
                      acc += static_cast<double>(x(n, c, row, col)) * to_float(w(o, c, u, v));
                    }
                  }
                }
              }
              y(n, o, i, j) = static_cast<float>(acc);
            }
          }
        }
      }
    });
  }
};

}  // namespace internvl::ops
