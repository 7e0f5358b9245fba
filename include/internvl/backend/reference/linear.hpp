// Reference linear layer: the weight is widened to f32 and multiplied with Eigen, then bias and
// activation are applied element by element. Clear and independent of the cpu GEMM it checks.
#pragma once

#include <Eigen/Core>

#include "internvl/backend/reference/context.hpp"
#include "internvl/core/math.hpp"
#include "internvl/ops/linear.hpp"

namespace internvl::ops {

template <>
struct Linear<backend::reference> {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;

  static void run(Context<backend::reference>&, View<float, 2> y, CView<float, 2> x, const WeightView<2>& w,
                  CView<float, 1> bias, Activation act) {
    RowMajor weight(w.size(0), w.size(1));  // [N, K] in f32
    w.visit([&]<class T>(CView<T, 2> typed) {
      for (index_t n = 0; n < typed.size(0); ++n) {
        for (index_t k = 0; k < typed.size(1); ++k) {
          weight(n, k) = to_float(typed(n, k));
        }
      }
    });
    Eigen::Map<const RowMajor, 0, Stride> xm(x.data(), x.size(0), x.size(1), Stride(x.stride(0)));
    Eigen::Map<RowMajor, 0, Stride> ym(y.data(), y.size(0), y.size(1), Stride(y.stride(0)));
    ym.noalias() = xm * weight.transpose();
    for (index_t m = 0; m < y.size(0); ++m) {
      for (index_t n = 0; n < y.size(1); ++n) {
        float v = y(m, n) + (bias.data() ? bias(n) : 0.0f);
        y(m, n) = act == Activation::gelu ? gelu(v) : v;
      }
    }
  }
};

}  // namespace internvl::ops
