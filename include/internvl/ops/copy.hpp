// Copy between two views of one shape (keys and values into a cache, a slice of heads out of a packed
// projection, a bf16 backbone's features into a head that computes in f32):
//   y[a, b, c, d] = x[a, b, c, d]                 rounded to nearest even when y's type is narrower
// Shapes: y, x [A, B, C, D], dense along D, any other strides; the element types may differ where the
// backend computes in both (the CUDA backend's f32, bf16, f16; only f32 on the host backends).
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

// The source may be a view of const or of mutable elements (S is T or const T).
template <class Backend, class U, class S>
void copy(Context<Backend>& ctx, View<U, 4> y, TensorView<S, 4> source) {
  using T = std::remove_const_t<S>;
  static_assert(computes_in<Backend, U> && computes_in<Backend, T>,
                "internvl: ops::copy: this backend does not compute in these element types");
  const CView<T, 4> x = source;
  constexpr std::string_view op = "ops::copy";
  detail::check_same_shape(op, "y", y, "x", x);
  detail::check_dense_rows(op, "x", x);
  detail::check_dense_rows(op, "y", y);
  if (y.numel() == 0) {
    return;
  }
  if constexpr (std::is_same_v<U, T>) {
    if (y.data() == x.data() && y.strides() == x.strides()) {
      return;
    }
  }
  detail::profiled(ctx, op, 0.0, [&] { Copy<Backend>::run(ctx, y, x); });
}

}  // namespace internvl::ops
