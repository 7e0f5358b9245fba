// cpu batched matmul: one call of the packed GEMM (backend/cpu/gemm/gemm.hpp) for the whole batch,
// which splits the threads by matrix when the batch divides evenly over them, else inside each one.
#pragma once

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/gemm/gemm.hpp"
#include "internvl/ops/matmul.hpp"

namespace internvl::ops {

template <>
struct Matmul<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 3> c, CView<float, 3> a, const WeightView<3>& b) {
    cpu::gemm_batched(ctx.pool(), ctx.workspace(), c, a, b);
  }
};

}  // namespace internvl::ops
