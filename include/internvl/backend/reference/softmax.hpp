// Reference softmax: one row at a time in double, the row maximum subtracted before exp.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/softmax.hpp"

namespace internvl::ops {

template <>
struct Softmax<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 2> y, CView<float, 2> x) {
    for (index_t i = 0; i < x.size(0); ++i) {
      double max = -std::numeric_limits<double>::infinity();
      for (index_t j = 0; j < x.size(1); ++j) {
        max = std::max<double>(max, x(i, j));
      }
      double sum = 0.0;
      for (index_t j = 0; j < x.size(1); ++j) {
        sum += std::exp(x(i, j) - max);
      }
      for (index_t j = 0; j < x.size(1); ++j) {
        y(i, j) = static_cast<float>(std::exp(x(i, j) - max) / sum);
      }
    }
  }
};

}  // namespace internvl::ops
