// Reference LayerScale residual: x += γ ⊙ y, each element in double, rounded once.
#pragma once

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/scaled_residual_add.hpp"

namespace internvl::ops {

template <>
struct ScaledResidualAdd<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 2> x, CView<float, 2> y, CView<float, 1> gamma) {
    for (index_t i = 0; i < x.size(0); ++i) {
      for (index_t j = 0; j < x.size(1); ++j) {
        x(i, j) = static_cast<float>(x(i, j) + static_cast<double>(gamma(j)) * y(i, j));
      }
    }
  }
};

}  // namespace internvl::ops
