// cpu SwiGLU: map_rows over the thread pool, silu(gate) · up with the vector silu of
// backend/cpu/vector_math.hpp.
#pragma once

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/map_rows.hpp"
#include "internvl/backend/cpu/vector_math.hpp"
#include "internvl/ops/swiglu.hpp"

namespace internvl::ops {

template <>
struct Swiglu<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 2> out, CView<float, 2> gate, CView<float, 2> up) {
    cpu::map_rows(ctx.pool(), out, [](const cpu::VecF& g, const cpu::VecF& u) { return cpu::silu(g) * u; }, gate, up);
  }
};

}  // namespace internvl::ops
