// cpu patchify: each patch row is C·P contiguous copies of P pixels; patches are split over the pool.
#pragma once

#include <algorithm>

#include "internvl/backend/cpu/context.hpp"
#include "internvl/ops/patchify.hpp"

namespace internvl::ops {

template <>
struct Patchify<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 3> patches, CView<float, 4> pixels, index_t p) {
    const index_t channels = pixels.size(1), grid_w = pixels.size(3) / p, per_image = patches.size(1);
    ctx.pool().parallel_for(pixels.size(0) * per_image, 16, [&](index_t begin, index_t end) {
      for (index_t item = begin; item < end; ++item) {
        const index_t b = item / per_image, n = item % per_image;
        const index_t y = n / grid_w, x = n % grid_w;
        float* out = &patches(b, n, 0);
        for (index_t c = 0; c < channels; ++c) {
          for (index_t i = 0; i < p; ++i) {
            const float* row = &pixels(b, c, y * p + i, x * p);
            std::copy_n(row, p, out + (c * p + i) * p);
          }
        }
      }
    });
  }
};

}  // namespace internvl::ops
