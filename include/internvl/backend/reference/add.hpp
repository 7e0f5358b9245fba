// Reference element-wise sum.
#pragma once

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/add.hpp"

namespace internvl::ops {

template <>
struct Add<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 2> y, CView<float, 2> a, CView<float, 2> b) {
    for (index_t i = 0; i < a.size(0); ++i) {
      for (index_t j = 0; j < a.size(1); ++j) {
        y(i, j) = a(i, j) + b(i, j);
      }
    }
  }
};

}  // namespace internvl::ops
