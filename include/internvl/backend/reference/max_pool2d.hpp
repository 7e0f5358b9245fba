// Reference max_pool2d: the maximum of each 2x2 window, one (image, channel) plane at a time. The
// plane function is the definition; the cpu backend runs it over planes in parallel.
#pragma once

#include <cmath>
#include <limits>

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/max_pool2d.hpp"

namespace internvl::ops {

template <>
struct MaxPool2d<backend::reference> {
  // y[i, j] = max of x[2i .. 2i+1, 2j .. 2j+1]; a NaN anywhere in the window wins (as in PyTorch).
  static void pool_plane(View<float, 2> y, CView<float, 2> x) {
    for (index_t i = 0; i < y.size(0); ++i) {
      for (index_t j = 0; j < y.size(1); ++j) {
        float best = -std::numeric_limits<float>::infinity();
        for (const float v : {x(2 * i, 2 * j), x(2 * i, 2 * j + 1), x(2 * i + 1, 2 * j), x(2 * i + 1, 2 * j + 1)}) {
          best = (v > best || std::isnan(v)) ? v : best;
        }
        y(i, j) = best;
      }
    }
  }

  static void run(Context<backend::reference>&, View<float, 4> y, CView<float, 4> x) {
    for (index_t n = 0; n < y.size(0); ++n) {
      for (index_t c = 0; c < y.size(1); ++c) {
        pool_plane(y[n][c], x[n][c]);
      }
    }
  }
};

}  // namespace internvl::ops
