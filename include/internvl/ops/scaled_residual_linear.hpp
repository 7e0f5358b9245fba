// A LayerScale residual branch that ends in a linear layer, as one op (each InternViT block's MLP,
// x ← x + γ₂ ⊙ fc2(·)):
//   x[m, :] += γ ⊙ (h[m, :] · Wᵀ + b)
// Shapes: x [M, N], h [M, K], both with dense rows; W [N, K] in its stored dtype; b [N] or empty; γ [N].
// The definition is ops::linear into scratch, then ops::scaled_residual_add, and every backend runs
// exactly that unless it specialises ScaledResidualLinear: the cpu backend applies γ and adds the
// residual in its GEMM's epilogue (backend/cpu/scaled_residual_linear.hpp), so the branch's [M, N]
// output is never written out and read back.
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/linear.hpp"
#include "internvl/ops/profiled.hpp"
#include "internvl/ops/scaled_residual_add.hpp"

namespace internvl::ops {

template <class Backend>
struct ScaledResidualLinear {
  template <class T>
  static void run(Context<Backend>& ctx, View<T, 2> x, CView<T, 2> h, const WeightView<2>& w, CView<float, 1> bias,
                  CView<float, 1> gamma) {
    auto& ws = ctx.workspace();
    auto scope = ws.scope();
    View<T, 2> branch = ws.template tensor<T>(x.shape());
    ops::linear(ctx, branch, h, w, bias);
    ops::scaled_residual_add(ctx, x, CView<T, 2>(branch), gamma);
  }
};

template <class Backend, class T>
void scaled_residual_linear(Context<Backend>& ctx, View<T, 2> x, std::type_identity_t<CView<T, 2>> h,
                            const WeightView<2>& w, CView<float, 1> bias, CView<float, 1> gamma) {
  static_assert(computes_in<Backend, T>,
                "internvl: ops::scaled_residual_linear: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::scaled_residual_linear";
  detail::check_linear(op, "x", x, "h", h, w, bias);
  detail::check_vector(op, "gamma", gamma, w.size(0));
  detail::profiled(ctx, op, detail::multiply_add_flops(h.size(0) * w.size(0), w.size(1)),
                   [&] { ScaledResidualLinear<Backend>::run(ctx, x, h, w, bias, gamma); });
}

}  // namespace internvl::ops
