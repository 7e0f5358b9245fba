// Reference token assembly: the two formulas of ops/assemble_tokens.hpp, element by element.
#pragma once

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/assemble_tokens.hpp"

namespace internvl::ops {

template <>
struct AssembleTokens<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 3> x, CView<float, 3> patch_tokens, CView<float, 1> cls,
                  CView<float, 2> pos) {
    for (index_t b = 0; b < x.size(0); ++b) {
      for (index_t d = 0; d < x.size(2); ++d) {
        x(b, 0, d) = cls(d) + pos(0, d);
      }
      for (index_t n = 0; n < patch_tokens.size(1); ++n) {
        for (index_t d = 0; d < x.size(2); ++d) {
          x(b, n + 1, d) = patch_tokens(b, n, d) + pos(n + 1, d);
        }
      }
    }
  }
};

}  // namespace internvl::ops
