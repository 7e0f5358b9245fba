// Embedding lookup (QLLaMA's token embeddings): one table row per token id,
//   out[n, :] = table[ids[n], :]
// Shapes: ids [N] (int32), table [V, D] (f32, bf16 or f16, read in its stored dtype, dense rows),
// out [N, D]. Token ids come from the tokenizer, so ids live in host memory on every backend; each id
// is checked here: one outside [0, V) is an error naming its position.
#pragma once

#include <cstdint>
#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

template <class Backend>
struct Embedding {
  static_assert(dependent_false<Backend>,
                "internvl: ops::embedding has no implementation for this backend; include "
                "<internvl/backend/<backend>/embedding.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void embedding(Context<Backend>& ctx, View<T, 2> out, CView<std::int32_t, 1> ids, const WeightView<2>& table) {
  static_assert(computes_in<Backend, T>,
                "internvl: ops::embedding: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::embedding";
  detail::check_shape(op, "out", out, Extents<2>{ids.size(0), table.size(1)});
  detail::check_dense_rows(op, "out", out);
  INTERNVL_CHECK(table.size(1) <= 1 || table.stride(1) == 1, op, "table rows must be dense (shape ",
                 shape_string(table), ", last stride ", table.stride(1), ")");
  for (index_t n = 0; n < ids.size(0); ++n) {
    INTERNVL_CHECK(ids(n) >= 0 && ids(n) < table.size(0), op, "token id ", ids(n), " at position ", n,
                   " is outside the vocabulary [0, ", table.size(0), ")");
  }
  detail::profiled(ctx, op, 0.0, [&] { Embedding<Backend>::run(ctx, out, ids, table); });
}

}  // namespace internvl::ops
