// cpu element-wise sum: map_rows over the thread pool.
#pragma once

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/map_rows.hpp"
#include "internvl/ops/add.hpp"

namespace internvl::ops {

template <>
struct Add<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 2> y, CView<float, 2> a, CView<float, 2> b) {
    cpu::map_rows(ctx.pool(), y, [](const cpu::VecF& u, const cpu::VecF& v) { return u + v; }, a, b);
  }
};

}  // namespace internvl::ops
