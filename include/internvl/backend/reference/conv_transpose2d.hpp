// Reference conv_transpose2d (kernel 2, stride 2): each output element is the sum over input
// channels of its one input pixel times one weight tap, accumulated in double.
#pragma once

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/conv_transpose2d.hpp"

namespace internvl::ops {

template <>
struct ConvTranspose2d<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 4> y, CView<float, 4> x, const WeightView<4>& weight,
                  CView<float, 1> bias) {
    weight.visit([&]<class T>(CView<T, 4> w) {
      for (index_t n = 0; n < y.size(0); ++n) {
        for (index_t o = 0; o < y.size(1); ++o) {
          for (index_t i = 0; i < y.size(2); ++i) {
            for (index_t j = 0; j < y.size(3); ++j) {
              double acc = bias.data() ? bias(o) : 0.0;
              for (index_t c = 0; c < x.size(1); ++c) {
                acc += static_cast<double>(x(n, c, i / 2, j / 2)) * to_float(w(c, o, i % 2, j % 2));
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
