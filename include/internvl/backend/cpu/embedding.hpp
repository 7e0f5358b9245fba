// cpu embedding lookup: tokens split over the thread pool, each row widened to f32 in one pass
// (a plain copy for f32 tables).
#pragma once

#include <algorithm>

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/simd.hpp"
#include "internvl/ops/embedding.hpp"

namespace internvl::ops {

template <>
struct Embedding<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 2> out, CView<std::int32_t, 1> ids,
                  const WeightView<2>& table) {
    const index_t width = table.size(1);
    table.visit([&]<class W>(CView<W, 2> rows) {
      ctx.pool().parallel_for(ids.size(0), cpu::rows_per_chunk(width), [&](index_t begin, index_t end) {
        for (index_t n = begin; n < end; ++n) {
          const W* row = &rows(ids(n), 0);
          float* dst = &out(n, 0);
          if constexpr (std::is_same_v<W, float>) {
            std::copy_n(row, width, dst);
          } else {
            std::transform(row, row + width, dst, [](W v) { return to_float(v); });
          }
        }
      });
    });
  }
};

}  // namespace internvl::ops
