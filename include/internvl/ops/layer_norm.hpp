// LayerNorm over the last dimension (InternViT-300M norms, the attention-pooling and projector norms):
//   y[i, :] = (x[i, :] − μ_i) / sqrt(σ²_i + eps) ⊙ w + b,   μ_i = mean_j x[i, j],
//   σ²_i = mean_j (x[i, j] − μ_i)²   (biased variance, as PyTorch)
// Shapes: x, y [M, D]; w, b [D]. Statistics in f32, computed so that a large common offset in a
// row (|μ| ≫ σ) costs no accuracy. y may be x (in place).
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

template <class Backend>
struct LayerNorm {
  static_assert(dependent_false<Backend>,
                "internvl: ops::layer_norm has no implementation for this backend; include "
                "<internvl/backend/<backend>/layer_norm.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void layer_norm(Context<Backend>& ctx, View<T, 2> y, std::type_identity_t<CView<T, 2>> x, CView<float, 1> w,
                CView<float, 1> b, float eps) {
  static_assert(computes_in<Backend, T>,
                "internvl: ops::layer_norm: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::layer_norm";
  detail::check_channel_norm(op, y, x, w, b, eps);
  detail::profiled(ctx, op, 0.0, [&] { LayerNorm<Backend>::run(ctx, y, x, w, b, eps); });
}

}  // namespace internvl::ops
