// GELU, exact erf form (the InternViT MLP and the segmentation FPN; PyTorch's nn.GELU() default):
//   y = x/2 · (1 + erf(x/√2))
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

// The scalar gelu(float) of core/math.hpp stays callable unqualified inside ops (this front door
// would hide it otherwise).
using internvl::gelu;

template <class Backend>
struct Gelu {
  static_assert(dependent_false<Backend>,
                "internvl: ops::gelu has no implementation for this backend; include "
                "<internvl/backend/<backend>/gelu.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T, std::size_t Rank>
void gelu(Context<Backend>& ctx, View<T, Rank> y, std::type_identity_t<CView<T, Rank>> x) {
  static_assert(computes_in<Backend, T>, "internvl: ops::gelu: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::gelu";
  detail::check_same_shape(op, "y", y, "x", x);
  detail::profiled(ctx, op, 0.0,
                   [&] { Gelu<Backend>::run(ctx, detail::as_rows(op, "y", y), detail::as_rows(op, "x", x)); });
}

}  // namespace internvl::ops
