// cpu linear layer: y = act(x·Wᵀ + b), one call of the packed GEMM (backend/cpu/gemm/gemm.hpp)
// with the bias and the activation applied to the accumulators before they are stored, in the
// context's matmul precision (f32, or bf16 operands with f32 accumulation), the weights pre-packed
// or streamed if the context asks for it (gemm/prepack.hpp, gemm/few_rows.hpp).
#pragma once

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/gemm/gemm.hpp"
#include "internvl/ops/linear.hpp"

namespace internvl::ops {

template <>
struct Linear<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 2> y, CView<float, 2> x, const WeightView<2>& w,
                  CView<float, 1> bias, Activation act) {
    cpu::gemm(ctx.pool(), ctx.workspace(), y, x, w, {.bias = bias, .gelu = act == Activation::gelu},
              ctx.matmul_precision(), cpu::active_isa(), ctx.weight_prepacking(), {}, ctx.weight_streaming());
  }
};

}  // namespace internvl::ops
