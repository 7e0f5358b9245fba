// Reference SiLU: core/math.hpp's scalar definition, element by element.
#pragma once

#include "internvl/backend/reference/context.hpp"
#include "internvl/core/math.hpp"
#include "internvl/ops/silu.hpp"

namespace internvl::ops {

template <>
struct Silu<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 2> y, CView<float, 2> x) {
    for (index_t i = 0; i < x.size(0); ++i) {
      for (index_t j = 0; j < x.size(1); ++j) {
        y(i, j) = internvl::silu(x(i, j));
      }
    }
  }
};

}  // namespace internvl::ops
