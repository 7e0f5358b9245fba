// cpu softmax: rows split over the thread pool; each row (in L1 after its first read) takes three
// xsimd passes: the maximum m; e = exp(x − m) written to y and summed (compensated, so long
// rows lose no accuracy); y ← e · (1/Σe).
// The row tail goes through padded vectors (−∞ padding: it adds nothing to the max or the sum).
#pragma once

#include <limits>

#include "internvl/backend/cpu/compensated_sum.hpp"
#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/map_rows.hpp"
#include "internvl/ops/softmax.hpp"

namespace internvl::ops {

template <>
struct Softmax<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 2> y, CView<float, 2> x) {
    const index_t width = x.size(1);
    ctx.pool().parallel_for(x.size(0), cpu::rows_per_chunk(width), [&](index_t begin, index_t end) {
      for (index_t i = begin; i < end; ++i) {
        softmax_row(y.data() + i * y.stride(0), x.data() + i * x.stride(0), width);
      }
    });
  }

  static void softmax_row(float* y, const float* x, index_t n) {
    using cpu::VecF, cpu::kLanes, cpu::load;
    constexpr float kMinusInf = -std::numeric_limits<float>::infinity();
    const index_t body = n / kLanes * kLanes;
    const index_t tail = n - body;

    VecF max0(kMinusInf), max1(kMinusInf);
    index_t j = 0;
    for (; j + 2 * kLanes <= body; j += 2 * kLanes) {
      max0 = xsimd::max(max0, load(x + j));
      max1 = xsimd::max(max1, load(x + j + kLanes));
    }
    for (; j < body; j += kLanes) {
      max0 = xsimd::max(max0, load(x + j));
    }
    max0 = xsimd::max(max0, cpu::load_tail(x + body, tail, kMinusInf));
    const VecF max(cpu::reduce_max(xsimd::max(max0, max1)));

    cpu::CompensatedSum sum;
    for (j = 0; j < body; j += kLanes) {
      const VecF e = xsimd::exp(load(x + j) - max);
      cpu::store(y + j, e);
      sum.add(e);
    }
    const VecF e_tail = xsimd::exp(cpu::load_tail(x + body, tail, kMinusInf) - max);
    cpu::store_tail(y + body, e_tail, tail);
    sum.add(e_tail);

    const VecF inv_sum(1.0f / cpu::reduce_sum(sum.total()));
    cpu::map_span(y, n, [&](const VecF& e) { return e * inv_sum; }, y);
  }
};

}  // namespace internvl::ops
