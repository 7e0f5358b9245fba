// Reference token mean: each output element summed in double over the token range.
#pragma once

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/mean_tokens.hpp"

namespace internvl::ops {

template <>
struct MeanTokens<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 2> out, CView<float, 3> x, index_t begin, index_t end) {
    for (index_t b = 0; b < x.size(0); ++b) {
      for (index_t d = 0; d < x.size(2); ++d) {
        double sum = 0.0;
        for (index_t s = begin; s < end; ++s) {
          sum += x(b, s, d);
        }
        out(b, d) = static_cast<float>(sum / static_cast<double>(end - begin));
      }
    }
  }
};

}  // namespace internvl::ops
