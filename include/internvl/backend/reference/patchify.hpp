// Reference patchify: the index formula, element by element.
#pragma once

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/patchify.hpp"

namespace internvl::ops {

template <>
struct Patchify<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 3> patches, CView<float, 4> pixels, index_t p) {
    const index_t channels = pixels.size(1), grid_w = pixels.size(3) / p;
    for (index_t b = 0; b < pixels.size(0); ++b) {
      for (index_t n = 0; n < patches.size(1); ++n) {
        const index_t y = n / grid_w, x = n % grid_w;
        for (index_t c = 0; c < channels; ++c) {
          for (index_t i = 0; i < p; ++i) {
            for (index_t j = 0; j < p; ++j) {
              patches(b, n, (c * p + i) * p + j) = pixels(b, c, y * p + i, x * p + j);
            }
          }
        }
      }
    }
  }
};

}  // namespace internvl::ops
