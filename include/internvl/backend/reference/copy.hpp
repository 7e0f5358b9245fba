// Reference copy: element by element.
#pragma once

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/copy.hpp"

namespace internvl::ops {

template <>
struct Copy<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 4> y, CView<float, 4> x) {
    for (index_t a = 0; a < x.size(0); ++a) {
      for (index_t b = 0; b < x.size(1); ++b) {
        for (index_t c = 0; c < x.size(2); ++c) {
          for (index_t d = 0; d < x.size(3); ++d) {
            y(a, b, c, d) = x(a, b, c, d);
          }
        }
      }
    }
  }
};

}  // namespace internvl::ops
