// cpu GELU: map_rows over the thread pool with the vector gelu of backend/cpu/vector_math.hpp.
#pragma once

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/map_rows.hpp"
#include "internvl/backend/cpu/vector_math.hpp"
#include "internvl/ops/gelu.hpp"

namespace internvl::ops {

template <>
struct Gelu<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 2> y, CView<float, 2> x) {
    cpu::map_rows(ctx.pool(), y, [](const cpu::VecF& v) { return cpu::gelu(v); }, x);
  }
};

}  // namespace internvl::ops
