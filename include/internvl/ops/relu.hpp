// ReLU (every ConvModule of the UperNet segmentation head, after its BatchNorm):
//   y = max(x, 0)        NaN stays NaN, as PyTorch's relu
// Element-wise over views of any rank whose rows are dense and whose leading dimensions collapse
// into one (ops/rows.hpp); x and y have the same shape. y may be x (in place).
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"
#include "internvl/ops/rows.hpp"

namespace internvl::ops {

template <class Backend>
struct Relu {
  static_assert(dependent_false<Backend>,
                "internvl: ops::relu has no implementation for this backend; include "
                "<internvl/backend/<backend>/relu.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T, std::size_t Rank>
void relu(Context<Backend>& ctx, View<T, Rank> y, std::type_identity_t<CView<T, Rank>> x) {
  static_assert(computes_in<Backend, T>, "internvl: ops::relu: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::relu";
  detail::check_same_shape(op, "y", y, "x", x);
  detail::profiled(ctx, op, 0.0,
                   [&] { Relu<Backend>::run(ctx, detail::as_rows(op, "y", y), detail::as_rows(op, "x", x)); });
}

}  // namespace internvl::ops
