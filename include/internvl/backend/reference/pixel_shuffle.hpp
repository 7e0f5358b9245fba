// Reference pixel shuffle: the index formula of ops/pixel_shuffle.hpp, element by element.
#pragma once

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/pixel_shuffle.hpp"

namespace internvl::ops {

template <>
struct PixelShuffle<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 3> out, CView<float, 3> in, index_t grid,
                  PixelShuffleVersion version) {
    const index_t half = grid / 2, channels = in.size(2);
    for (index_t b = 0; b < in.size(0); ++b) {
      for (index_t r = 0; r < half; ++r) {
        for (index_t c = 0; c < half; ++c) {
          const index_t t = version == PixelShuffleVersion::v2 ? r * half + c : c * half + r;
          for (index_t a = 0; a < 2; ++a) {
            for (index_t e = 0; e < 2; ++e) {
              for (index_t ch = 0; ch < channels; ++ch) {
                out(b, t, (2 * a + e) * channels + ch) = in(b, (2 * r + a) * grid + 2 * c + e, ch);
              }
            }
          }
        }
      }
    }
  }
};

}  // namespace internvl::ops
