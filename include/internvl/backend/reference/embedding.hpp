// Reference embedding lookup: each row copied element by element, widened to f32.
#pragma once

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/embedding.hpp"

namespace internvl::ops {

template <>
struct Embedding<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 2> out, CView<std::int32_t, 1> ids,
                  const WeightView<2>& table) {
    table.visit([&]<class W>(CView<W, 2> rows) {
      for (index_t n = 0; n < ids.size(0); ++n) {
        for (index_t d = 0; d < rows.size(1); ++d) {
          out(n, d) = to_float(rows(ids(n), d));
        }
      }
    });
  }
};

}  // namespace internvl::ops
