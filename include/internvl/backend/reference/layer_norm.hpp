// Reference LayerNorm: one row at a time, two-pass statistics (mean, then the mean of squared
// deviations) accumulated in double.
#pragma once

#include <cmath>

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/layer_norm.hpp"

namespace internvl::ops {

template <>
struct LayerNorm<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 2> y, CView<float, 2> x, CView<float, 1> w,
                  CView<float, 1> b, float eps) {
    const index_t rows = x.size(0);
    const index_t width = x.size(1);
    for (index_t i = 0; i < rows; ++i) {
      double sum = 0.0;
      for (index_t j = 0; j < width; ++j) {
        sum += x(i, j);
      }
      const double mean = sum / static_cast<double>(width);
      double sum_sq = 0.0;
      for (index_t j = 0; j < width; ++j) {
        sum_sq += (x(i, j) - mean) * (x(i, j) - mean);
      }
      const double inv_std = 1.0 / std::sqrt(sum_sq / static_cast<double>(width) + eps);
      for (index_t j = 0; j < width; ++j) {
        y(i, j) = static_cast<float>((x(i, j) - mean) * inv_std * w(j) + b(j));
      }
    }
  }
};

}  // namespace internvl::ops
