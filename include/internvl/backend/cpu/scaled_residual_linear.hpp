// cpu LayerScale residual linear: x ← x + γ ⊙ (h·Wᵀ + b) as one call of the packed GEMM
// (backend/cpu/gemm/gemm.hpp) in residual form: x is C, and each K block's product (with the bias, in
// the last) is scaled by γ and added to it in the kernels' epilogue, so the branch is never stored.
// Same precision and weight prepacking as ops::linear on this backend (linear.hpp).
#pragma once

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/gemm/gemm.hpp"
#include "internvl/ops/scaled_residual_linear.hpp"

namespace internvl::ops {

template <>
struct ScaledResidualLinear<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 2> x, CView<float, 2> h, const WeightView<2>& w,
                  CView<float, 1> bias, CView<float, 1> gamma) {
    cpu::gemm(ctx.pool(), ctx.workspace(), x, h, w, {.bias = bias, .scale = gamma}, ctx.matmul_precision(),
              cpu::active_isa(), ctx.weight_prepacking());
  }
};

}  // namespace internvl::ops
