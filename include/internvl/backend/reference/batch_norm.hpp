// Reference inference-mode BatchNorm: each element on its own, in double.
#pragma once

#include <cmath>

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/batch_norm.hpp"

namespace internvl::ops {

template <>
struct BatchNorm<backend::reference> {
  static float normalize(float x, const BatchNormParams& p, index_t c) {
    const double inv_std = 1.0 / std::sqrt(static_cast<double>(p.running_var(c)) + p.eps);
    return static_cast<float>((x - static_cast<double>(p.running_mean(c))) * inv_std * p.weight(c) + p.bias(c));
  }

  static void run(Context<backend::reference>&, View<float, 4> y, CView<float, 4> x, const BatchNormParams& p) {
    for (index_t n = 0; n < x.size(0); ++n) {
      for (index_t c = 0; c < x.size(1); ++c) {
        for (index_t h = 0; h < x.size(2); ++h) {
          for (index_t px = 0; px < x.size(3); ++px) {
            y(n, c, h, px) = normalize(x(n, c, h, px), p, c);
          }
        }
      }
    }
  }

  static void run(Context<backend::reference>&, View<float, 2> y, CView<float, 2> x, const BatchNormParams& p) {
    for (index_t n = 0; n < x.size(0); ++n) {
      for (index_t c = 0; c < x.size(1); ++c) {
        y(n, c) = normalize(x(n, c), p, c);
      }
    }
  }
};

}  // namespace internvl::ops
