// Reference channels-first LayerNorm: one pixel at a time, the vector of its C channel values
// normalised as the reference LayerNorm normalises a row (two-pass statistics in double).
#pragma once

#include "internvl/backend/reference/context.hpp"
#include "internvl/backend/reference/layer_norm.hpp"
#include "internvl/ops/layer_norm_channels.hpp"

namespace internvl::ops {

template <>
struct LayerNormChannels<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 4> y, CView<float, 4> x, CView<float, 1> w,
                  CView<float, 1> b, float eps) {
    const Extents<1> channels{x.size(1)};
    for (index_t n = 0; n < x.size(0); ++n) {
      for (index_t h = 0; h < x.size(2); ++h) {
        for (index_t px = 0; px < x.size(3); ++px) {
          LayerNorm<backend::reference>::normalize(View<float, 1>(&y(n, 0, h, px), channels, {y.stride(1)}),
                                                   CView<float, 1>(&x(n, 0, h, px), channels, {x.stride(1)}), w, b,
                                                   eps);
        }
      }
    }
  }
};

}  // namespace internvl::ops
