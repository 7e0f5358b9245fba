// cpu copy: the rows (a, b, c) split over the thread pool, each a contiguous run of D values.
#pragma once

#include <algorithm>

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/simd.hpp"
#include "internvl/ops/copy.hpp"

namespace internvl::ops {

template <>
struct Copy<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 4> y, CView<float, 4> x) {
    const index_t outer = x.size(1) * x.size(2), inner = x.size(2), width = x.size(3);
    ctx.pool().parallel_for(x.size(0) * outer, cpu::rows_per_chunk(width), [&](index_t begin, index_t end) {
      for (index_t row = begin; row < end; ++row) {
        const index_t a = row / outer, b = row % outer / inner, c = row % inner;
        std::copy_n(&x(a, b, c, 0), width, &y(a, b, c, 0));
      }
    });
  }
};

}  // namespace internvl::ops
