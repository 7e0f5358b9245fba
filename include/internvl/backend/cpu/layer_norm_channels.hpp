// cpu channels-first LayerNorm. Pixels are contiguous within each channel's H×W plane, so the
// kernel is vectorised across pixels: a work item is (image, a group of up to 64 pixels), and takes
// three passes over the C channels of its group: a first f32 mean estimate m₁; the sums of
// d = x − m₁ and (compensated) of d²; y = (x − m₁ − Σd/C) · inv_std · w[c] + b[c] (the corrected
// two-pass moments of backend/cpu/moments.hpp). A group's C × 64 pixels (800 KB for C = 3200) stay
// in L2 between the passes, so x is read from memory once. Work items go over the thread pool.
#pragma once

#include <algorithm>

#include "internvl/backend/cpu/compensated_sum.hpp"
#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/moments.hpp"
#include "internvl/backend/cpu/simd.hpp"
#include "internvl/ops/layer_norm_channels.hpp"

namespace internvl::ops {

template <>
struct LayerNormChannels<backend::cpu> {
  // Pixels per work item: 64 (8 AVX2 or 4 AVX-512 vectors; measured fastest of 16, 32 and 64 with AVX2).
  static constexpr index_t kGroup = 64 / cpu::kLanes;  // vectors of pixels per work item

  // One group of pixels of one image: x and y point at its first pixel in channel 0, consecutive
  // channels are `x_step` / `y_step` floats apart. The group has Vectors vectors of pixels, the last
  // holding `last_lanes` (1..kLanes) pixels.
  struct Group {
    const float* x;
    float* y;
    index_t x_step;
    index_t y_step;
    index_t last_lanes;
  };

  static void run(Context<backend::cpu>& ctx, View<float, 4> y, CView<float, 4> x, CView<float, 1> w,
                  CView<float, 1> b, float eps) {
    const index_t channels = x.size(1);
    const index_t pixels = x.size(2) * x.size(3);
    const index_t group_pixels = kGroup * cpu::kLanes;
    const index_t groups = (pixels + group_pixels - 1) / group_pixels;
    if (channels == 0) {
      return;
    }
    ctx.pool().parallel_for(x.size(0) * groups, 1, [&](index_t begin, index_t end) {
      for (index_t t = begin; t < end; ++t) {
        const index_t n = t / groups;
        const index_t first = t % groups * group_pixels;
        const index_t count = std::min(group_pixels, pixels - first);
        const index_t vectors = (count + cpu::kLanes - 1) / cpu::kLanes;
        const Group g{x.data() + n * x.stride(0) + first, y.data() + n * y.stride(0) + first, x.stride(1),
                      y.stride(1), count - (vectors - 1) * cpu::kLanes};
        normalize_group(g, vectors, channels, w.data(), b.data(), eps);
      }
    });
  }

  // Dispatches on the number of vectors so that the per-vector statistics live in registers.
  template <index_t Vectors = kGroup>
  static void normalize_group(const Group& g, index_t vectors, index_t channels, const float* w, const float* b,
                              float eps) {
    if constexpr (Vectors > 1) {
      if (vectors < Vectors) {
        return normalize_group<Vectors - 1>(g, vectors, channels, w, b, eps);
      }
    }
    normalize<Vectors>(g, channels, w, b, eps);
  }

  template <index_t Vectors>
  static void normalize(const Group& g, index_t channels, const float* w, const float* b, float eps) {
    using cpu::VecF, cpu::kLanes;
    // Vector v of channel c; lanes past the group's last pixel read as 0 and are never stored.
    const auto load = [&g](index_t c, index_t v) {
      const float* p = g.x + c * g.x_step + v * kLanes;
      return v == Vectors - 1 && g.last_lanes < kLanes ? cpu::load_tail(p, g.last_lanes) : cpu::load(p);
    };

    VecF shift[Vectors];
    for (index_t v = 0; v < Vectors; ++v) {
      shift[v] = VecF(0.0f);
    }
    for (index_t c = 0; c < channels; ++c) {
      for (index_t v = 0; v < Vectors; ++v) {
        shift[v] += load(c, v);
      }
    }
    const VecF count(static_cast<float>(channels));
    for (index_t v = 0; v < Vectors; ++v) {
      shift[v] /= count;
    }

    VecF sum_d[Vectors];
    cpu::CompensatedSum sum_dd[Vectors];  // a plain f32 sum of C squares drifts by ~√C ulp
    for (index_t v = 0; v < Vectors; ++v) {
      sum_d[v] = VecF(0.0f);
    }
    for (index_t c = 0; c < channels; ++c) {
      for (index_t v = 0; v < Vectors; ++v) {
        const VecF d = load(c, v) - shift[v];
        sum_d[v] += d;
        sum_dd[v].add(d * d);
      }
    }
    VecF shift_to_mean[Vectors];
    VecF inv_std[Vectors];
    for (index_t v = 0; v < Vectors; ++v) {
      const cpu::Moments m = cpu::finish_moments(sum_d[v], sum_dd[v].total(), channels, eps);
      shift_to_mean[v] = m.shift_to_mean;
      inv_std[v] = m.inv_std;
    }

    for (index_t c = 0; c < channels; ++c) {
      const VecF wc(w[c]);
      const VecF bc(b[c]);
      for (index_t v = 0; v < Vectors; ++v) {
        const VecF out = xsimd::fma((load(c, v) - shift[v] - shift_to_mean[v]) * inv_std[v], wc, bc);
        float* p = g.y + c * g.y_step + v * kLanes;
        if (v == Vectors - 1 && g.last_lanes < kLanes) {
          cpu::store_tail(p, out, g.last_lanes);
        } else {
          cpu::store(p, out);
        }
      }
    }
  }
};

}  // namespace internvl::ops
