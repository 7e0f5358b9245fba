// cpu max_pool2d: the reference's plane kernel (the definition, NaN propagation included) run over
// the (image, channel) planes in parallel. The op moves 1.25 floats per input element; threads are
// what it needs.
#pragma once

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/simd.hpp"
#include "internvl/backend/reference/max_pool2d.hpp"

namespace internvl::ops {

template <>
struct MaxPool2d<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 4> y, CView<float, 4> x) {
    const index_t channels = y.size(1);
    ctx.pool().parallel_for(
        y.size(0) * channels, cpu::rows_per_chunk(x.size(2) * x.size(3)), [&](index_t begin, index_t end) {
          for (index_t p = begin; p < end; ++p) {
            MaxPool2d<backend::reference>::pool_plane(y[p / channels][p % channels], x[p / channels][p % channels]);
          }
        });
  }
};

}  // namespace internvl::ops
