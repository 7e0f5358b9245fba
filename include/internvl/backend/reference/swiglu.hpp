// Reference SwiGLU: silu(gate) · up element by element, with core/math.hpp's silu.
#pragma once

#include "internvl/backend/reference/context.hpp"
#include "internvl/core/math.hpp"
#include "internvl/ops/swiglu.hpp"

namespace internvl::ops {

template <>
struct Swiglu<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 2> out, CView<float, 2> gate, CView<float, 2> up) {
    for (index_t i = 0; i < gate.size(0); ++i) {
      for (index_t j = 0; j < gate.size(1); ++j) {
        out(i, j) = internvl::silu(gate(i, j)) * up(i, j);
      }
    }
  }
};

}  // namespace internvl::ops
