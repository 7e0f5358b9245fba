// cpu ReLU: map_rows over the thread pool; select(x < 0, 0, x) keeps NaN as the reference does.
#pragma once

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/map_rows.hpp"
#include "internvl/ops/relu.hpp"

namespace internvl::ops {

template <>
struct Relu<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 2> y, CView<float, 2> x) {
    const cpu::VecF zero(0.0f);
    cpu::map_rows(
        ctx.pool(), y, [&](const cpu::VecF& v) { return xsimd::select(v < zero, zero, v); }, x);
  }
};

}  // namespace internvl::ops
