// Reference RMSNorm: one row at a time, statistics accumulated in double.
#pragma once

#include <cmath>

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/rms_norm.hpp"

namespace internvl::ops {

template <>
struct RmsNorm<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 2> y, CView<float, 2> x, CView<float, 1> w, float eps) {
    const index_t rows = x.size(0);
    const index_t width = x.size(1);
    for (index_t i = 0; i < rows; ++i) {
      double sum_sq = 0.0;
      for (index_t j = 0; j < width; ++j) {
        sum_sq += static_cast<double>(x(i, j)) * x(i, j);
      }
      const double inv_rms = 1.0 / std::sqrt(sum_sq / static_cast<double>(width) + eps);
      for (index_t j = 0; j < width; ++j) {
        y(i, j) = static_cast<float>(w(j) * (x(i, j) * inv_rms));
      }
    }
  }
};

}  // namespace internvl::ops
