// cpu LayerScale residual: map_rows over the thread pool, x ← fma(γ, y, x) with γ broadcast to
// every row.
#pragma once

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/map_rows.hpp"
#include "internvl/ops/scaled_residual_add.hpp"

namespace internvl::ops {

template <>
struct ScaledResidualAdd<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 2> x, CView<float, 2> y, CView<float, 1> gamma) {
    cpu::map_rows(
        ctx.pool(), x, [](const cpu::VecF& xv, const cpu::VecF& yv, const cpu::VecF& g) { return xsimd::fma(g, yv, xv); },
        x, y, cpu::broadcast_rows(gamma, x.size(0)));
  }
};

}  // namespace internvl::ops
