// cpu LayerNorm: rows split over the thread pool, each normalized by row_norm.hpp (a first f32
// estimate m₁ of the mean, the corrected two-pass moments of the deviations from it, then
// y = (x − m₁ − Σd/D) · inv_std · w + b in xsimd vectors; the row stays in L1 after its first read).
#pragma once

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/row_norm.hpp"
#include "internvl/ops/layer_norm.hpp"

namespace internvl::ops {

template <>
struct LayerNorm<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 2> y, CView<float, 2> x, CView<float, 1> w,
                  CView<float, 1> b, float eps) {
    const index_t width = x.size(1);
    const cpu::RowNorm norm{.layer_norm = true, .weight = w.data(), .bias = b.data(), .eps = eps};
    ctx.pool().parallel_for(x.size(0), cpu::rows_per_chunk(width), [&](index_t begin, index_t end) {
      for (index_t i = begin; i < end; ++i) {
        cpu::normalize_row(norm, y.data() + i * y.stride(0), x.data() + i * x.stride(0), width);
      }
    });
  }
};

}  // namespace internvl::ops
