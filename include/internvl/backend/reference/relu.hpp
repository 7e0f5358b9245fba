// Reference ReLU: x < 0 ? 0 : x, element by element (NaN is not < 0, so it passes through).
#pragma once

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/relu.hpp"

namespace internvl::ops {

template <>
struct Relu<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 2> y, CView<float, 2> x) {
    for (index_t i = 0; i < x.size(0); ++i) {
      for (index_t j = 0; j < x.size(1); ++j) {
        y(i, j) = x(i, j) < 0.0f ? 0.0f : x(i, j);
      }
    }
  }
};

}  // namespace internvl::ops
