// Reference batched matmul: each matrix of the batch is one reference linear layer without bias,
// C[b] = A[b] · B[b]ᵀ (B widened to f32, multiplied with Eigen).
#pragma once

#include "internvl/backend/reference/context.hpp"
#include "internvl/backend/reference/linear.hpp"
#include "internvl/ops/matmul.hpp"

namespace internvl::ops {

template <>
struct Matmul<backend::reference> {
  static void run(Context<backend::reference>& ctx, View<float, 3> c, CView<float, 3> a, const WeightView<3>& b) {
    b.visit([&]<class T>(CView<T, 3> typed) {
      for (index_t i = 0; i < a.size(0); ++i) {
        Linear<backend::reference>::run(ctx, c[i], a[i], typed[i], {}, Activation::none);
      }
    });
  }
};

}  // namespace internvl::ops
