// Reference adaptive_avg_pool2d: the mean of each bin, accumulated in double, one (image, channel)
// plane at a time. The plane function is the definition; the cpu backend runs it over planes in parallel.
#pragma once

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/adaptive_avg_pool2d.hpp"

namespace internvl::ops {

template <>
struct AdaptiveAvgPool2d<backend::reference> {
  static void pool_plane(View<float, 2> y, CView<float, 2> x) {
    for (index_t i = 0; i < y.size(0); ++i) {
      const PoolBin rows = adaptive_pool_bin(i, x.size(0), y.size(0));
      for (index_t j = 0; j < y.size(1); ++j) {
        const PoolBin cols = adaptive_pool_bin(j, x.size(1), y.size(1));
        double sum = 0.0;
        for (index_t r = rows.begin; r < rows.end; ++r) {
          for (index_t c = cols.begin; c < cols.end; ++c) {
            sum += x(r, c);
          }
        }
        y(i, j) = static_cast<float>(sum / static_cast<double>((rows.end - rows.begin) * (cols.end - cols.begin)));
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
