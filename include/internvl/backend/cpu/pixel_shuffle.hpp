// cpu pixel shuffle: four contiguous row copies per output token, tokens split over the pool.
#pragma once

#include <algorithm>

#include "internvl/backend/cpu/context.hpp"
#include "internvl/ops/pixel_shuffle.hpp"

namespace internvl::ops {

template <>
struct PixelShuffle<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 3> out, CView<float, 3> in, index_t grid,
                  PixelShuffleVersion version) {
    const index_t half = grid / 2, channels = in.size(2), per_image = half * half;
    ctx.pool().parallel_for(in.size(0) * per_image, 16, [&](index_t begin, index_t end) {
      for (index_t item = begin; item < end; ++item) {
        const index_t b = item / per_image, r = (item % per_image) / half, c = item % half;
        const index_t t = version == PixelShuffleVersion::v2 ? r * half + c : c * half + r;
        for (index_t a = 0; a < 2; ++a) {
          for (index_t e = 0; e < 2; ++e) {
            std::copy_n(&in(b, (2 * r + a) * grid + 2 * c + e, 0), channels, &out(b, t, (2 * a + e) * channels));
          }
        }
      }
    });
  }
};

}  // namespace internvl::ops
