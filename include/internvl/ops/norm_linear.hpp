// A linear layer whose input is normalized first, as one op (each InternViT block's qkv projection,
// x ↦ Norm₁(x)·W_qkvᵀ):
//   y[m, :] = act( Norm(x[m, :]) · Wᵀ + b )      Norm = RMSNorm (w) or LayerNorm (w, β) over K, eps
// Shapes: x [M, K], y [M, N], both with dense rows; W [N, K] in its stored dtype; b [N] or empty;
// the norm's w, β [K] (ops/norm.hpp). act is the identity or exact-erf GELU.
// The definition is ops::norm into scratch, then ops::linear, and every backend runs exactly that
// unless it specialises NormLinear: the cpu backend normalizes A's rows while its GEMM packs them
// (backend/cpu/norm_linear.hpp), so the normalized [M, K] input is never written out and read back.
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/linear.hpp"
#include "internvl/ops/norm.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

template <class Backend>
struct NormLinear {
  template <class T>
  static void run(Context<Backend>& ctx, View<T, 2> y, CView<T, 2> x, const Normalization& norm, const WeightView<2>& w,
                  CView<float, 1> bias, Activation act) {
    auto& ws = ctx.workspace();
    auto scope = ws.scope();
    View<T, 2> normed = ws.template tensor<T>(x.shape());
    ops::norm(ctx, normed, x, norm);
    ops::linear(ctx, y, CView<T, 2>(normed), w, bias, act);
  }
};

template <class Backend, class T>
void norm_linear(Context<Backend>& ctx, View<T, 2> y, std::type_identity_t<CView<T, 2>> x, const Normalization& norm,
                 const WeightView<2>& w, CView<float, 1> bias = {}, Activation act = Activation::none) {
  static_assert(computes_in<Backend, T>,
                "internvl: ops::norm_linear: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::norm_linear";
  detail::check_linear(op, "y", y, "x", x, w, bias);
  detail::check_vector(op, "norm weight", norm.weight, x.size(1));
  if (norm.kind == config::Norm::layer_norm) {
    detail::check_vector(op, "norm bias", norm.bias, x.size(1));
  }
  detail::check_eps(op, norm.eps);
  detail::profiled(ctx, op, detail::multiply_add_flops(x.size(0) * w.size(0), w.size(1)),
                   [&] { NormLinear<Backend>::run(ctx, y, x, norm, w, bias, act); });
}

}  // namespace internvl::ops
