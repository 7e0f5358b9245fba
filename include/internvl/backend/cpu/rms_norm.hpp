// cpu RMSNorm: rows split over the thread pool; sum of squares and scaling in xsimd vectors.
#pragma once

#include <cmath>

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/simd.hpp"
#include "internvl/ops/rms_norm.hpp"

namespace internvl::ops {

template <>
struct RmsNorm<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 2> y, CView<float, 2> x, CView<float, 1> w, float eps) {
    const index_t width = x.size(1);
    ctx.pool().parallel_for(x.size(0), cpu::rows_per_chunk(width), [&](index_t begin, index_t end) {
      for (index_t i = begin; i < end; ++i) {
        const float* xi = &x(i, 0);
        float* yi = &y(i, 0);
        cpu::VecF acc0(0.0f);
        cpu::VecF acc1(0.0f);
        index_t j = 0;
        for (; j + 2 * cpu::kLanes <= width; j += 2 * cpu::kLanes) {
          const cpu::VecF a = cpu::load(xi + j);
          const cpu::VecF b = cpu::load(xi + j + cpu::kLanes);
          acc0 = xsimd::fma(a, a, acc0);
          acc1 = xsimd::fma(b, b, acc1);
        }
        float sum_sq = cpu::reduce_sum(acc0 + acc1);
        for (; j < width; ++j) {
          sum_sq += xi[j] * xi[j];
        }
        const float inv_rms = 1.0f / std::sqrt(sum_sq / static_cast<float>(width) + eps);
        const cpu::VecF scale(inv_rms);
        j = 0;
        for (; j + cpu::kLanes <= width; j += cpu::kLanes) {
          cpu::store(yi + j, cpu::load(&w(j)) * (cpu::load(xi + j) * scale));
        }
        for (; j < width; ++j) {
          yi[j] = w(j) * (xi[j] * inv_rms);
        }
      }
    });
  }
};

}  // namespace internvl::ops
