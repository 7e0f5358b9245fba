// cpu linear layer: y = act(x·Wᵀ + b). Output columns are split over the thread pool; each
// weight row is widened to f32 once and dotted with every input row in xsimd vectors.
// (A first, correct version; the packed GEMM replaces its inner loops.)
#pragma once

#include <vector>

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/simd.hpp"
#include "internvl/core/math.hpp"
#include "internvl/ops/linear.hpp"

namespace internvl::ops {

template <>
struct Linear<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 2> y, CView<float, 2> x, const WeightView<2>& w,
                  CView<float, 1> bias, Activation act) {
    const index_t rows = x.size(0), depth = x.size(1);
    w.visit([&]<class W>(CView<W, 2> weight) {
      ctx.pool().parallel_for(weight.size(0), 8, [&](index_t n_begin, index_t n_end) {
        std::vector<float> row(static_cast<std::size_t>(depth));
        for (index_t n = n_begin; n < n_end; ++n) {
          for (index_t k = 0; k < depth; ++k) {
            row[static_cast<std::size_t>(k)] = to_float(weight(n, k));
          }
          for (index_t m = 0; m < rows; ++m) {
            const float* xm = &x(m, 0);
            cpu::VecF acc(0.0f);
            index_t k = 0;
            for (; k + cpu::kLanes <= depth; k += cpu::kLanes) {
              acc = xsimd::fma(cpu::load(xm + k), cpu::load(row.data() + k), acc);
            }
            float sum = cpu::reduce_sum(acc);
            for (; k < depth; ++k) {
              sum += xm[k] * row[static_cast<std::size_t>(k)];
            }
            sum += bias.data() ? bias(n) : 0.0f;
            y(m, n) = act == Activation::gelu ? gelu(sum) : sum;
          }
        }
      });
    });
  }
};

}  // namespace internvl::ops
