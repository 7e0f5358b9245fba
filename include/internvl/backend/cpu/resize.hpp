// cpu resize, separable: the taps of every output column and row are tabulated once, then each
// (image, channel) plane is resampled along W for every input row (gathers, into a [H, Wo] scratch)
// and along H (each output row a weighted sum of 2 or 4 scratch rows, in xsimd vectors). The order of
// the sums (columns inside, rows outside) is PyTorch's. Planes are split over the thread pool.
#pragma once

#include <algorithm>
#include <type_traits>

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/simd.hpp"
#include "internvl/ops/resize_taps.hpp"

namespace internvl::ops {

template <>
struct Resize<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 4> y, CView<float, 4> x, ResizeMode mode) {
    const index_t in_h = x.size(2), in_w = x.size(3), out_h = y.size(2), out_w = y.size(3);
    const index_t channels = y.size(1), planes = y.size(0) * channels;
    const index_t taps = mode == ResizeMode::bilinear ? 2 : 4;
    if (planes == 0) {
      return;
    }
    Workspace<>& ws = ctx.workspace();
    auto scope = ws.scope();
    // Column taps as element offsets into an input row; row taps as indices of scratch rows.
    View<index_t, 2> col_offset = ws.tensor<index_t>(Extents<2>{out_w, taps});
    View<float, 2> col_weight = ws.tensor<float>(Extents<2>{out_w, taps});
    View<index_t, 2> row_index = ws.tensor<index_t>(Extents<2>{out_h, taps});
    View<float, 2> row_weight = ws.tensor<float>(Extents<2>{out_h, taps});
    for (index_t j = 0; j < out_w; ++j) {
      const ResizeTaps t = resize_taps(mode, in_w, out_w, j);
      for (index_t k = 0; k < taps; ++k) {
        col_offset(j, k) = t.index[k] * x.stride(3);
        col_weight(j, k) = t.weight[k];
      }
    }
    for (index_t i = 0; i < out_h; ++i) {
      const ResizeTaps t = resize_taps(mode, in_h, out_h, i);
      for (index_t k = 0; k < taps; ++k) {
        row_index(i, k) = t.index[k];
        row_weight(i, k) = t.weight[k];
      }
    }

    // One scratch plane [H, Wo] and one output row per chunk of planes.
    const index_t chunks = std::min<index_t>(ctx.pool().size(), planes);
    View<float, 3> across = ws.tensor<float>(Extents<3>{chunks, in_h, out_w});
    View<float, 2> row_out = ws.tensor<float>(Extents<2>{chunks, out_w});
    const auto resample = [&]<index_t Taps>(std::integral_constant<index_t, Taps>) {
      ctx.pool().run(chunks, [&](index_t chunk) {
        for (index_t p = planes * chunk / chunks; p < planes * (chunk + 1) / chunks; ++p) {
          const CView<float, 2> src = x[p / channels][p % channels];
          const View<float, 2> dst = y[p / channels][p % channels];
          const View<float, 2> tmp = across[chunk];
          for (index_t h = 0; h < in_h; ++h) {
            resample_row<Taps>(&tmp(h, 0), &src(h, 0), col_offset.data(), col_weight.data(), out_w);
          }
          const bool dense = dst.stride(1) == 1;
          for (index_t i = 0; i < out_h; ++i) {
            float* out = dense ? &dst(i, 0) : &row_out(chunk, 0);
            combine_rows<Taps>(out, tmp, &row_index(i, 0), &row_weight(i, 0));
            if (!dense) {
              for (index_t j = 0; j < out_w; ++j) {
                dst(i, j) = out[j];
              }
            }
          }
        }
      });
    };
    if (taps == 2) {
      resample(std::integral_constant<index_t, 2>{});
    } else {
      resample(std::integral_constant<index_t, 4>{});
    }
  }

 private:
  // out[j] = Σ_k weight[j·Taps + k] · in[offset[j·Taps + k]]
  template <index_t Taps>
  static void resample_row(float* out, const float* in, const index_t* offset, const float* weight, index_t width) {
    for (index_t j = 0; j < width; ++j, offset += Taps, weight += Taps) {
      float sum = 0.0f;
      for (index_t k = 0; k < Taps; ++k) {
        sum += weight[k] * in[offset[k]];
      }
      out[j] = sum;
    }
  }

  // out[j] = Σ_k weight[k] · tmp[index[k], j]
  template <index_t Taps>
  static void combine_rows(float* out, CView<float, 2> tmp, const index_t* index, const float* weight) {
    const index_t width = tmp.size(1);
    index_t j = 0;
    for (; j + cpu::kLanes <= width; j += cpu::kLanes) {
      cpu::VecF acc = cpu::VecF(weight[0]) * cpu::load(&tmp(index[0], j));
      for (index_t k = 1; k < Taps; ++k) {
        acc = xsimd::fma(cpu::VecF(weight[k]), cpu::load(&tmp(index[k], j)), acc);
      }
      cpu::store(out + j, acc);
    }
    for (; j < width; ++j) {
      float acc = weight[0] * tmp(index[0], j);
      for (index_t k = 1; k < Taps; ++k) {
        acc += weight[k] * tmp(index[k], j);
      }
      out[j] = acc;
    }
  }
};

}  // namespace internvl::ops
