// A LayerScale residual and the norm that reads its result, as one op (each InternViT block: the
// attention branch's residual and the MLP's pre-norm):
//   x[i, :] += γ ⊙ y[i, :]
//   h[i, :]  = Norm(x[i, :])      RMSNorm (w) or LayerNorm (w, b), eps
// Shapes: x, y, h [M, D] with dense rows; γ, w [D]; b [D] for LayerNorm (empty for RMSNorm). h may be y.
// The definition is the two ops one after the other, and every backend runs exactly that unless it
// specialises ScaledResidualAddNorm: CUDA fuses them into one kernel (backend/cuda/
// scaled_residual_add_norm.cuh), which reads x and y once and writes x and h once.
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/config/vision.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/norm.hpp"
#include "internvl/ops/profiled.hpp"
#include "internvl/ops/scaled_residual_add.hpp"

namespace internvl::ops {

template <class Backend>
struct ScaledResidualAddNorm {
  template <class T>
  static void run(Context<Backend>& ctx, View<T, 2> x, View<T, 2> h, CView<T, 2> y, CView<float, 1> gamma,
                  config::Norm norm, CView<float, 1> w, CView<float, 1> b, float eps) {
    ops::scaled_residual_add(ctx, x, y, gamma);
    ops::norm(ctx, h, CView<T, 2>(x), Normalization{.kind = norm, .weight = w, .bias = b, .eps = eps});
  }
};

template <class Backend, class T>
void scaled_residual_add_norm(Context<Backend>& ctx, View<T, 2> x, std::type_identity_t<View<T, 2>> h,
                              std::type_identity_t<CView<T, 2>> y, CView<float, 1> gamma, config::Norm norm,
                              CView<float, 1> w, CView<float, 1> b, float eps) {
  static_assert(computes_in<Backend, T>,
                "internvl: ops::scaled_residual_add_norm: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::scaled_residual_add_norm";
  detail::check_same_shape(op, "x", x, "y", y);
  detail::check_same_shape(op, "h", h, "x", x);
  detail::check_vector(op, "gamma", gamma, x.size(1));
  detail::check_vector(op, "weight", w, x.size(1));
  if (norm == config::Norm::layer_norm) {
    detail::check_vector(op, "bias", b, x.size(1));
  }
  detail::check_dense_rows(op, "x", x);
  detail::check_dense_rows(op, "y", y);
  detail::check_dense_rows(op, "h", h);
  detail::check_eps(op, eps);
  detail::profiled(ctx, op, 0.0, [&] { ScaledResidualAddNorm<Backend>::run(ctx, x, h, y, gamma, norm, w, b, eps); });
}

}  // namespace internvl::ops
