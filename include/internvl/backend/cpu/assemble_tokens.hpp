// cpu token assembly: one vectorised row add per token, tokens split over the thread pool.
#pragma once

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/simd.hpp"
#include "internvl/ops/assemble_tokens.hpp"

namespace internvl::ops {

template <>
struct AssembleTokens<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 3> x, CView<float, 3> patch_tokens, CView<float, 1> cls,
                  CView<float, 2> pos) {
    const index_t tokens = x.size(1), width = x.size(2);
    ctx.pool().parallel_for(x.size(0) * tokens, cpu::rows_per_chunk(width), [&](index_t begin, index_t end) {
      for (index_t row = begin; row < end; ++row) {
        const index_t b = row / tokens, s = row % tokens;
        const float* a = s == 0 ? cls.data() : &patch_tokens(b, s - 1, 0);
        const float* p = &pos(s, 0);
        float* out = &x(b, s, 0);
        index_t d = 0;
        for (; d + cpu::kLanes <= width; d += cpu::kLanes) {
          cpu::store(out + d, cpu::load(a + d) + cpu::load(p + d));
        }
        for (; d < width; ++d) {
          out[d] = a[d] + p[d];
        }
      }
    });
  }
};

}  // namespace internvl::ops
