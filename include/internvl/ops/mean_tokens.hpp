// Mean over a range of tokens (the linear probe's pooled feature uses the patch tokens 1..S):
//   out[b, :] = 1/(end − begin) · Σ_{s = begin}^{end − 1} x[b, s, :]
// Shapes: x [B, S, D], out [B, D], both with dense rows; 0 <= begin < end <= S. Sums in f32,
// compensated so that long token ranges lose no accuracy.
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

template <class Backend>
struct MeanTokens {
  static_assert(dependent_false<Backend>,
                "internvl: ops::mean_tokens has no implementation for this backend; include "
                "<internvl/backend/<backend>/mean_tokens.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void mean_tokens(Context<Backend>& ctx, View<T, 2> out, std::type_identity_t<CView<T, 3>> x, index_t begin,
                 index_t end) {
  static_assert(computes_in<Backend, T>, "internvl: ops::mean_tokens: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::mean_tokens";
  detail::check_shape(op, "out", out, Extents<2>{x.size(0), x.size(2)});
  INTERNVL_CHECK(0 <= begin && begin < end && end <= x.size(1), op, "token range [", begin, ", ", end,
                 ") is empty or outside the ", x.size(1), " tokens of x ", shape_string(x));
  detail::check_dense_rows(op, "x", x);
  detail::check_dense_rows(op, "out", out);
  detail::profiled(ctx, op, 0.0, [&] { MeanTokens<Backend>::run(ctx, out, x, begin, end); });
}

}  // namespace internvl::ops
