// Row-wise softmax (attention probabilities, classification scores):
//   y[i, j] = exp(x[i, j] − m_i) / Σ_k exp(x[i, k] − m_i),   m_i = max_k x[i, k]
// Shapes: x, y [M, N] with dense rows. Computed in f32 with the row maximum subtracted, so large
// logits do not overflow. y may be x (in place). A row that is all −∞ gives NaN, as in PyTorch.
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

template <class Backend>
struct Softmax {
  static_assert(dependent_false<Backend>,
                "internvl: ops::softmax has no implementation for this backend; include "
                "<internvl/backend/<backend>/softmax.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void softmax(Context<Backend>& ctx, View<T, 2> y, std::type_identity_t<CView<T, 2>> x) {
  static_assert(computes_in<Backend, T>, "internvl: ops::softmax: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::softmax";
  detail::check_same_shape(op, "y", y, "x", x);
  detail::check_dense_rows(op, "x", x);
  detail::check_dense_rows(op, "y", y);
  detail::profiled(ctx, op, 0.0, [&] { Softmax<Backend>::run(ctx, y, x); });
}

}  // namespace internvl::ops
