// InternViT's token assembly after the patch embedding (facts §1.2): prepend the class token and
// add the absolute position embedding:
//   x[b, 0, :]     = cls + pos[0, :]
//   x[b, 1 + n, :] = patch_tokens[b, n, :] + pos[1 + n, :]
// Shapes: patch_tokens [B, N, D], cls [D], pos [1 + N, D] (already resized to the input grid), x [B, 1 + N, D].
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

template <class Backend>
struct AssembleTokens {
  static_assert(dependent_false<Backend>,
                "internvl: ops::assemble_tokens has no implementation for this backend; include "
                "<internvl/backend/<backend>/assemble_tokens.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void assemble_tokens(Context<Backend>& ctx, View<T, 3> x, std::type_identity_t<CView<T, 3>> patch_tokens,
                     CView<float, 1> cls, CView<float, 2> pos) {
  static_assert(computes_in<Backend, T>, "internvl: ops::assemble_tokens: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::assemble_tokens";
  const index_t batch = patch_tokens.size(0), patches = patch_tokens.size(1), width = patch_tokens.size(2);
  detail::check_shape(op, "x", x, Extents<3>{batch, patches + 1, width});
  detail::check_shape(op, "cls", cls, Extents<1>{width});
  detail::check_shape(op, "pos", pos, Extents<2>{patches + 1, width});
  detail::check_dense_rows(op, "x", x);
  detail::check_dense_rows(op, "patch_tokens", patch_tokens);
  detail::check_dense_rows(op, "pos", pos);
  detail::check_dense_rows(op, "cls", cls);
  detail::profiled(ctx, op, 0.0, [&] { AssembleTokens<Backend>::run(ctx, x, patch_tokens, cls, pos); });
}

}  // namespace internvl::ops
