// cpu adaptive_avg_pool2d: the reference's plane kernel (the definition) run over the (image,
// channel) planes in parallel. Each input element is read about once per bin that covers it; the
// pyramid pooling module's maps are small, so threads are what it needs.
#pragma once

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/simd.hpp"
#include "internvl/backend/reference/adaptive_avg_pool2d.hpp"

namespace internvl::ops {

template <>
struct AdaptiveAvgPool2d<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 4> y, CView<float, 4> x) {
    const index_t channels = y.size(1);
    ctx.pool().parallel_for(y.size(0) * channels, cpu::rows_per_chunk(x.size(2) * x.size(3)),
                            [&](index_t begin, index_t end) {
                              for (index_t p = begin; p < end; ++p) {
                                AdaptiveAvgPool2d<backend::reference>::pool_plane(y[p / channels][p % channels],
                                                                                  x[p / channels][p % channels]);
                              }
                            });
  }
};

}  // namespace internvl::ops
