// 2×2 max pooling with stride 2 (PyTorch's MaxPool2d(2, 2): no padding, floor mode), the UperNet
// neck's 0.5× branch:
//   y[n, c, i, j] = max( x[n, c, 2i + a, 2j + b] : a, b ∈ {0, 1} ),   NaN if any of the four is NaN
// Shapes: x [N, C, H, W] with H, W >= 2; y [N, C, H/2, W/2] (an odd last row or column is dropped).
// x and y may have any strides.
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

template <class Backend>
struct MaxPool2d {
  static_assert(dependent_false<Backend>,
                "internvl: ops::max_pool2d has no implementation for this backend; include "
                "<internvl/backend/<backend>/max_pool2d.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void max_pool2d(Context<Backend>& ctx, View<T, 4> y, std::type_identity_t<CView<T, 4>> x) {
  static_assert(computes_in<Backend, T>,
                "internvl: ops::max_pool2d: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::max_pool2d";
  INTERNVL_CHECK(x.size(2) >= 2 && x.size(3) >= 2, op, "x ", shape_string(x), " is smaller than the 2x2 window");
  detail::check_shape(op, "y", y, Extents<4>{x.size(0), x.size(1), x.size(2) / 2, x.size(3) / 2});
  detail::profiled(ctx, op, 0.0, [&] { MaxPool2d<Backend>::run(ctx, y, x); });
}

}  // namespace internvl::ops
