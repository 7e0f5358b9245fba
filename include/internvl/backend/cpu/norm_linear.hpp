// cpu normalized linear layer: y = act(Norm(x)·Wᵀ + b) as one call of the packed GEMM
// (backend/cpu/gemm/gemm.hpp) with a norm prologue: each panel of x's rows is normalized into a
// cache-resident scratch as the GEMM packs it (row_norm.hpp, the arithmetic of ops::rms_norm and
// ops::layer_norm here, so the result has the same bits as the two ops in turn). Same precision and
// weight prepacking as ops::linear on this backend (linear.hpp).
#pragma once

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/gemm/gemm.hpp"
#include "internvl/ops/norm_linear.hpp"

namespace internvl::ops {

template <>
struct NormLinear<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 2> y, CView<float, 2> x, const Normalization& norm,
                  const WeightView<2>& w, CView<float, 1> bias, Activation act) {
    const bool layer_norm = norm.kind == config::Norm::layer_norm;
    cpu::gemm(ctx.pool(), ctx.workspace(), y, x, w, {.bias = bias, .gelu = act == Activation::gelu},
              ctx.matmul_precision(), cpu::active_isa(), ctx.weight_prepacking(),
              {.layer_norm = layer_norm,
               .norm_weight = norm.weight,
               .norm_bias = layer_norm ? norm.bias : CView<float, 1>{},
               .eps = norm.eps},
              ctx.weight_streaming());
  }
};

}  // namespace internvl::ops
