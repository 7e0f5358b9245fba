// cpu LayerNorm: rows split over the thread pool; each row (in L1 after its first read) takes three
// xsimd passes: (1) a first f32 estimate m₁ of the mean; (2) the sums of d = x − m₁ and
// (compensated) of d²; (3) y = (x − m₁ − Σd/D) · inv_std · w + b, with the corrected two-pass
// moments of backend/cpu/moments.hpp, so a large common offset in the row costs no accuracy.
#pragma once

#include "internvl/backend/cpu/compensated_sum.hpp"
#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/map_rows.hpp"
#include "internvl/backend/cpu/moments.hpp"
#include "internvl/ops/layer_norm.hpp"

namespace internvl::ops {

template <>
struct LayerNorm<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 2> y, CView<float, 2> x, CView<float, 1> w,
                  CView<float, 1> b, float eps) {
    const index_t width = x.size(1);
    ctx.pool().parallel_for(x.size(0), cpu::rows_per_chunk(width), [&](index_t begin, index_t end) {
      for (index_t i = begin; i < end; ++i) {
        normalize_row(y.data() + i * y.stride(0), x.data() + i * x.stride(0), w.data(), b.data(), width, eps);
      }
    });
  }

  static void normalize_row(float* y, const float* x, const float* w, const float* b, index_t n, float eps) {
    using cpu::VecF, cpu::kLanes, cpu::load, cpu::load_tail;
    const index_t body = n / kLanes * kLanes;  // the rest, n − body < kLanes, goes through padded vectors
    const index_t tail = n - body;

    // (1) first estimate of the mean
    VecF sum0(0.0f), sum1(0.0f);
    index_t j = 0;
    for (; j + 2 * kLanes <= body; j += 2 * kLanes) {
      sum0 += load(x + j);
      sum1 += load(x + j + kLanes);
    }
    for (; j < body; j += kLanes) {
      sum0 += load(x + j);
    }
    sum0 += load_tail(x + body, tail);
    const float shift_value = cpu::reduce_sum(sum0 + sum1) / static_cast<float>(n);
    const VecF shift(shift_value);

    // (2) deviations from it (padding lanes hold the shift itself: deviation 0); the squares are
    // summed with compensation, as a long row's plain f32 sum of squares would drift by ~√D ulp
    VecF sum_d0(0.0f), sum_d1(0.0f);
    cpu::CompensatedSum sum_dd0, sum_dd1;
    for (j = 0; j + 2 * kLanes <= body; j += 2 * kLanes) {
      const VecF d0 = load(x + j) - shift;
      const VecF d1 = load(x + j + kLanes) - shift;
      sum_d0 += d0;
      sum_d1 += d1;
      sum_dd0.add(d0 * d0);
      sum_dd1.add(d1 * d1);
    }
    for (; j < body; j += kLanes) {
      const VecF d = load(x + j) - shift;
      sum_d0 += d;
      sum_dd0.add(d * d);
    }
    const VecF d_tail = load_tail(x + body, tail, shift_value) - shift;
    sum_d0 += d_tail;
    sum_dd0.add(d_tail * d_tail);
    const cpu::Moments m = cpu::finish_moments(VecF(cpu::reduce_sum(sum_d0 + sum_d1)),
                                               VecF(cpu::reduce_sum(sum_dd0.total() + sum_dd1.total())), n, eps);

    // (3) output
    cpu::map_span(
        y, n,
        [&](const VecF& xv, const VecF& wv, const VecF& bv) {
          return xsimd::fma((xv - shift - m.shift_to_mean) * m.inv_std, wv, bv);
        },
        x, w, b);
  }
};

}  // namespace internvl::ops
