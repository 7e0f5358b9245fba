// Reference RoPE: every element from the two formulas of ops/rotary_embedding.hpp, with the angle of
// ops::rope_angle and cos/sin evaluated in double and rounded to f32.
#pragma once

#include <cmath>

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/rotary_embedding.hpp"

namespace internvl::ops {

template <>
struct RotaryEmbedding<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 4> y, CView<float, 4> x, const RotaryOptions& options) {
    const index_t half = x.size(3) / 2;
    for (index_t b = 0; b < x.size(0); ++b) {
      for (index_t s = 0; s < x.size(1); ++s) {
        for (index_t h = 0; h < x.size(2); ++h) {
          for (index_t i = 0; i < half; ++i) {
            const double angle = rope_angle(options.first_position + s, i, x.size(3), options.base);
            const auto cos = static_cast<float>(std::cos(angle));
            const auto sin = static_cast<float>(std::sin(angle));
            const float first = x(b, s, h, i);
            const float second = x(b, s, h, i + half);
            y(b, s, h, i) = first * cos - second * sin;
            y(b, s, h, i + half) = second * cos + first * sin;
          }
        }
      }
    }
  }
};

}  // namespace internvl::ops
