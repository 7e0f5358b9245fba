// cpu inference-mode BatchNorm: the per-channel scale s[c] = w[c] / sqrt(running_var[c] + eps) is
// computed once, then y = (x − running_mean[c]) · s[c] + b[c] in xsimd vectors (subtracting the mean
// first keeps a large common offset exact). NCHW maps: channel planes split over the thread pool,
// vectors along each dense H×W plane. Feature rows [N, C]: map_rows, vectors along the channels.
#pragma once

#include <cmath>

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/map_rows.hpp"
#include "internvl/ops/batch_norm.hpp"

namespace internvl::ops {

template <>
struct BatchNorm<backend::cpu> {
  static float scale_of(const BatchNormParams& p, index_t c) { return p.weight(c) / std::sqrt(p.running_var(c) + p.eps); }

  static void run(Context<backend::cpu>& ctx, View<float, 4> y, CView<float, 4> x, const BatchNormParams& p) {
    const index_t channels = x.size(1);
    const index_t plane = x.size(2) * x.size(3);
    ctx.pool().parallel_for(x.size(0) * channels, cpu::rows_per_chunk(plane), [&](index_t begin, index_t end) {
      for (index_t t = begin; t < end; ++t) {
        const index_t n = t / channels;
        const index_t c = t % channels;
        const cpu::VecF mean(p.running_mean(c));
        const cpu::VecF scale(scale_of(p, c));
        const cpu::VecF bias(p.bias(c));
        cpu::map_span(
            y.data() + n * y.stride(0) + c * y.stride(1), plane,
            [&](const cpu::VecF& v) { return xsimd::fma(v - mean, scale, bias); },
            x.data() + n * x.stride(0) + c * x.stride(1));
      }
    });
  }

  static void run(Context<backend::cpu>& ctx, View<float, 2> y, CView<float, 2> x, const BatchNormParams& p) {
    const index_t channels = x.size(1);
    Workspace<>& ws = ctx.workspace();
    auto scope = ws.scope();
    View<float, 1> scale = ws.tensor<float>(Extents<1>{channels});
    for (index_t c = 0; c < channels; ++c) {
      scale(c) = scale_of(p, c);
    }
    const index_t rows = x.size(0);
    cpu::map_rows(
        ctx.pool(), y,
        [](const cpu::VecF& v, const cpu::VecF& mean, const cpu::VecF& s, const cpu::VecF& b) {
          return xsimd::fma(v - mean, s, b);
        },
        x, cpu::broadcast_rows(p.running_mean, rows), cpu::broadcast_rows(scale, rows),
        cpu::broadcast_rows(p.bias, rows));
  }
};

}  // namespace internvl::ops
