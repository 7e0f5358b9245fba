// Reference GELU: core/math.hpp's scalar definition, element by element.
#pragma once

#include "internvl/backend/reference/context.hpp"
#include "internvl/core/math.hpp"
#include "internvl/ops/gelu.hpp"

namespace internvl::ops {

template <>
struct Gelu<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 2> y, CView<float, 2> x) {
    for (index_t i = 0; i < x.size(0); ++i) {
      for (index_t j = 0; j < x.size(1); ++j) {
        y(i, j) = internvl::gelu(x(i, j));
      }
    }
  }
};

}  // namespace internvl::ops
