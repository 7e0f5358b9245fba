// Reference channels-first LayerNorm: one pixel at a time, two-pass statistics over the channels
// accumulated in double.
#pragma once

#include <cmath>

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/layer_norm_channels.hpp"

namespace internvl::ops {

template <>
struct LayerNormChannels<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 4> y, CView<float, 4> x, CView<float, 1> w,
                  CView<float, 1> b, float eps) {
    const index_t channels = x.size(1);
    for (index_t n = 0; n < x.size(0); ++n) {
      for (index_t h = 0; h < x.size(2); ++h) {
        for (index_t px = 0; px < x.size(3); ++px) {
          double sum = 0.0;
          for (index_t c = 0; c < channels; ++c) {
            sum += x(n, c, h, px);
          }
          const double mean = sum / static_cast<double>(channels);
          double sum_sq = 0.0;
          for (index_t c = 0; c < channels; ++c) {
            sum_sq += (x(n, c, h, px) - mean) * (x(n, c, h, px) - mean);
          }
          const double inv_std = 1.0 / std::sqrt(sum_sq / static_cast<double>(channels) + eps);
          for (index_t c = 0; c < channels; ++c) {
            y(n, c, h, px) = static_cast<float>((x(n, c, h, px) - mean) * inv_std * w(c) + b(c));
          }
        }
      }
    }
  }
};

}  // namespace internvl::ops
