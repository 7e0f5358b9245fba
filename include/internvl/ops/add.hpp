// Element-wise sum (plain residual connections, e.g. position embeddings onto patch tokens):
//   y[i, j] = a[i, j] + b[i, j]
// Shapes: y, a, b [M, N] with dense rows. y may be a or b (in place).
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

template <class Backend>
struct Add {
  static_assert(dependent_false<Backend>,
                "internvl: ops::add has no implementation for this backend; include "
                "<internvl/backend/<backend>/add.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void add(Context<Backend>& ctx, View<T, 2> y, std::type_identity_t<CView<T, 2>> a,
         std::type_identity_t<CView<T, 2>> b) {
  static_assert(computes_in<Backend, T>, "internvl: ops::add: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::add";
  detail::check_elementwise(op, "y", y, "a", a, "b", b);
  detail::profiled(ctx, op, 0.0, [&] { Add<Backend>::run(ctx, y, a, b); });
}

}  // namespace internvl::ops
