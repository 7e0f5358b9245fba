// LayerScale residual (every InternViT block, twice):
//   x[i, :] += γ ⊙ y[i, :]
// Shapes: x, y [M, D] with dense rows; γ [D] (ls1 / ls2). x is updated in place.
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

template <class Backend>
struct ScaledResidualAdd {
  static_assert(dependent_false<Backend>,
                "internvl: ops::scaled_residual_add has no implementation for this backend; include "
                "<internvl/backend/<backend>/scaled_residual_add.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void scaled_residual_add(Context<Backend>& ctx, View<T, 2> x, std::type_identity_t<CView<T, 2>> y,
                         CView<float, 1> gamma) {
  static_assert(computes_in<Backend, T>,
                "internvl: ops::scaled_residual_add: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::scaled_residual_add";
  detail::check_same_shape(op, "x", x, "y", y);
  detail::check_vector(op, "gamma", gamma, x.size(1));
  detail::check_dense_rows(op, "x", x);
  detail::check_dense_rows(op, "y", y);
  detail::profiled(ctx, op, 0.0, [&] { ScaledResidualAdd<Backend>::run(ctx, x, y, gamma); });
}

}  // namespace internvl::ops
