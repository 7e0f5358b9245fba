// Copy between two views of one shape (keys and values into a cache, a slice of heads out of a packed
// projection):
//   y[a, b, c, d] = x[a, b, c, d]
// Shapes: y, x [A, B, C, D], dense along D, any other strides; the element type is kept as it is.
// y and x must not overlap (unless they are the same view, which copies nothing).
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

template <class Backend>
struct Copy {
  static_assert(dependent_false<Backend>,
                "internvl: ops::copy has no implementation for this backend; include "
                "<internvl/backend/<backend>/copy.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void copy(Context<Backend>& ctx, View<T, 4> y, std::type_identity_t<CView<T, 4>> x) {
  static_assert(computes_in<Backend, T>, "internvl: ops::copy: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::copy";
  detail::check_same_shape(op, "y", y, "x", x);
  detail::check_dense_rows(op, "x", x);
  detail::check_dense_rows(op, "y", y);
  if (y.numel() == 0 || (y.data() == x.data() && y.strides() == x.strides())) {
    return;
  }
  detail::profiled(ctx, op, 0.0, [&] { Copy<Backend>::run(ctx, y, x); });
}

}  // namespace internvl::ops
