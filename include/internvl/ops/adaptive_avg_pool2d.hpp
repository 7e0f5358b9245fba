// Adaptive average pooling (PyTorch's AdaptiveAvgPool2d), the UperNet pyramid pooling module's
// 1, 2, 3, 6 bins: output cell (i, j) averages the input rows [r0(i), r1(i)) and columns [c0(j), c1(j)),
//   r0(i) = floor(i·H / oh),   r1(i) = ceil((i + 1)·H / oh)      (likewise c0, c1 with W, ow)
// so bins may overlap and oh, ow may exceed H, W. Shapes: x [N, C, H, W], y [N, C, oh, ow], all sizes
// >= 1. x and y may have any strides.
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

// The input range [begin, end) that output index i of `out` pools from an axis of length `in`.
struct PoolBin {
  index_t begin;
  index_t end;
};

constexpr PoolBin adaptive_pool_bin(index_t i, index_t in, index_t out) {
  return {i * in / out, ((i + 1) * in + out - 1) / out};
}

template <class Backend>
struct AdaptiveAvgPool2d {
  static_assert(dependent_false<Backend>,
                "internvl: ops::adaptive_avg_pool2d has no implementation for this backend; include "
                "<internvl/backend/<backend>/adaptive_avg_pool2d.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void adaptive_avg_pool2d(Context<Backend>& ctx, View<T, 4> y, std::type_identity_t<CView<T, 4>> x) {
  static_assert(computes_in<Backend, T>,
                "internvl: ops::adaptive_avg_pool2d: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::adaptive_avg_pool2d";
  INTERNVL_CHECK(x.size(2) >= 1 && x.size(3) >= 1, op, "x ", shape_string(x), " has no pixels");
  INTERNVL_CHECK(y.size(2) >= 1 && y.size(3) >= 1, op, "y ", shape_string(y), " asks for an empty output");
  INTERNVL_CHECK(y.size(0) == x.size(0) && y.size(1) == x.size(1), op, "y ", shape_string(y), " and x ",
                 shape_string(x), " disagree on batch or channels");
  detail::profiled(ctx, op, 0.0, [&] { AdaptiveAvgPool2d<Backend>::run(ctx, y, x); });
}

}  // namespace internvl::ops
