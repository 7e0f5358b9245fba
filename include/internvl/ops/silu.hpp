// SiLU (swish), the activation of QLLaMA's gated MLP:
//   y = x · σ(x) = x / (1 + e^−x)
// Element-wise over views of any rank whose rows are dense and whose leading dimensions collapse
// into one (ops/rows.hpp); x and y have the same shape. y may be x (in place).
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/core/math.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"
#include "internvl/ops/rows.hpp"

namespace internvl::ops {

// The scalar silu(float) of core/math.hpp stays callable unqualified inside ops (this front door
// would hide it otherwise).
using internvl::silu;

template <class Backend>
struct Silu {
  static_assert(dependent_false<Backend>,
                "internvl: ops::silu has no implementation for this backend; include "
                "<internvl/backend/<backend>/silu.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T, std::size_t Rank>
void silu(Context<Backend>& ctx, View<T, Rank> y, std::type_identity_t<CView<T, Rank>> x) {
  static_assert(computes_in<Backend, T>, "internvl: ops::silu: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::silu";
  detail::check_same_shape(op, "y", y, "x", x);
  detail::profiled(ctx, op, 0.0,
                   [&] { Silu<Backend>::run(ctx, detail::as_rows(op, "y", y), detail::as_rows(op, "x", x)); });
}

}  // namespace internvl::ops
