// Batched matrix product with the second operand transposed (attention scores, batched projections):
//   C[b, i, j] = Σ_k A[b, i, k] · B[b, j, k]
// Shapes: A [Bt, M, K], B [Bt, N, K], C [Bt, M, N]. B is a WeightView: f32, bf16 or f16, read in its
// stored dtype; products accumulate in f32. Rows (the last dimension) must be dense; row and batch
// strides are free, so A and B can be views into a packed QKV projection.
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

template <class Backend>
struct Matmul {
  static_assert(dependent_false<Backend>,
                "internvl: ops::matmul has no implementation for this backend; include "
                "<internvl/backend/<backend>/matmul.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void matmul(Context<Backend>& ctx, View<T, 3> c, std::type_identity_t<CView<T, 3>> a, const WeightView<3>& b) {
  static_assert(computes_in<Backend, T>, "internvl: ops::matmul: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::matmul";
  INTERNVL_CHECK(b.size(0) == a.size(0) && b.size(2) == a.size(2), op, "a ", shape_string(a), " and b ",
                 shape_string(b), " disagree on the batch or the inner dimension (expected b [", a.size(0), ", N, ",
                 a.size(2), "])");
  detail::check_shape(op, "c", c, Extents<3>{a.size(0), a.size(1), b.size(1)});
  detail::check_dense_rows(op, "a", a);
  detail::check_dense_rows(op, "c", c);
  INTERNVL_CHECK(b.size(2) <= 1 || b.stride(2) == 1, op, "b must have dense rows (shape ", shape_string(b),
                 ", last stride ", b.stride(2), ")");
  detail::profiled(ctx, op, detail::multiply_add_flops(c.numel(), a.size(2)),
                   [&] { Matmul<Backend>::run(ctx, c, a, b); });
}

}  // namespace internvl::ops
