// cpu RoPE: cos/sin of the S × Dh/2 angles are tabulated once per call (scratch), then the tokens are
// split over the thread pool and every head of a token is rotated in xsimd vectors; the pairs (i, i + Dh/2)
// are read before either is written, so y may be x.
#pragma once

#include <cmath>

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/simd.hpp"
#include "internvl/ops/rotary_embedding.hpp"

namespace internvl::ops {

template <>
struct RotaryEmbedding<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 4> y, CView<float, 4> x, const RotaryOptions& options) {
    const index_t batch = x.size(0), tokens = x.size(1), heads = x.size(2), half = x.size(3) / 2;
    auto& ws = ctx.workspace();
    auto scope = ws.scope();
    View<float, 2> cos = ws.tensor<float>(Extents<2>{tokens, half});  // [S, Dh/2]
    View<float, 2> sin = ws.tensor<float>(Extents<2>{tokens, half});
    ctx.pool().parallel_for(tokens, cpu::rows_per_chunk(half, 2048), [&](index_t begin, index_t end) {
      for (index_t s = begin; s < end; ++s) {
        for (index_t i = 0; i < half; ++i) {
          const double angle = rope_angle(options.first_position + s, i, x.size(3), options.base);
          cos(s, i) = static_cast<float>(std::cos(angle));
          sin(s, i) = static_cast<float>(std::sin(angle));
        }
      }
    });
    ctx.pool().parallel_for(batch * tokens, cpu::rows_per_chunk(heads * half * 2), [&](index_t begin, index_t end) {
      for (index_t row = begin; row < end; ++row) {
        const index_t b = row / tokens, s = row % tokens;
        const float* c = &cos(s, 0);
        const float* sn = &sin(s, 0);
        for (index_t h = 0; h < heads; ++h) {
          const float* in = &x(b, s, h, 0);
          float* out = &y(b, s, h, 0);
          index_t i = 0;
          for (; i + cpu::kLanes <= half; i += cpu::kLanes) {
            const cpu::VecF first = cpu::load(in + i), second = cpu::load(in + half + i);
            const cpu::VecF vc = cpu::load(c + i), vs = cpu::load(sn + i);
            cpu::store(out + i, first * vc - second * vs);
            cpu::store(out + half + i, second * vc + first * vs);
          }
          for (; i < half; ++i) {
            const float first = in[i], second = in[half + i];
            out[i] = first * c[i] - second * sn[i];
            out[half + i] = second * c[i] + first * sn[i];
          }
        }
      }
    });
  }
};

}  // namespace internvl::ops
