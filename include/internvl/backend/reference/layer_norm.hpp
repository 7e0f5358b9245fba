// Reference LayerNorm: one row at a time, two-pass statistics (mean, then the mean of squared
// deviations) accumulated in double. normalize (one vector of any stride) also serves the
// channels-first LayerNorm (layer_norm_channels.hpp).
#pragma once

#include <cmath>

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/layer_norm.hpp"

namespace internvl::ops {

template <>
struct LayerNorm<backend::reference> {
  // y = (x − μ) / sqrt(σ² + eps) ⊙ w + b for one vector x [D] (y may be x).
  static void normalize(View<float, 1> y, CView<float, 1> x, CView<float, 1> w, CView<float, 1> b, float eps) {
    const index_t width = x.size(0);
    double sum = 0.0;
    for (index_t j = 0; j < width; ++j) {
      sum += x(j);
    }
    const double mean = sum / static_cast<double>(width);
    double sum_sq = 0.0;
    for (index_t j = 0; j < width; ++j) {
      sum_sq += (x(j) - mean) * (x(j) - mean);
    }
    const double inv_std = 1.0 / std::sqrt(sum_sq / static_cast<double>(width) + eps);
    for (index_t j = 0; j < width; ++j) {
      y(j) = static_cast<float>((x(j) - mean) * inv_std * w(j) + b(j));
    }
  }

  static void run(Context<backend::reference>&, View<float, 2> y, CView<float, 2> x, CView<float, 1> w,
                  CView<float, 1> b, float eps) {
    for (index_t i = 0; i < x.size(0); ++i) {
      normalize(y[i], x[i], w, b, eps);
    }
  }
};

}  // namespace internvl::ops
