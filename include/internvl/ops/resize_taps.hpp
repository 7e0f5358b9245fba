// The interpolation taps of ops::resize along one axis: for output index d of an axis resized from
// `in` to `out`, the input indices and weights (2 for bilinear, 4 for bicubic) with
//   value(d) = Σ_k weight[k] · input[index[k]].
// Computed in f32 step by step as PyTorch's CPU kernels do (UpSample.h: area_pixel_compute_scale,
// area_pixel_compute_source_index, guard_index_and_lambda, get_cubic_upsample_coefficients), so the
// coordinates round the same way. Shared by every backend: this is part of the op's definition.
#pragma once

#include <algorithm>
#include <cmath>

#include "internvl/ops/resize.hpp"

namespace internvl::ops {

struct ResizeTaps {
  static constexpr int kMax = 4;
  int count = 0;
  index_t index[kMax] = {};
  float weight[kMax] = {};
};

namespace detail {

// Keys' cubic convolution kernel with A = −0.75: near(t) for |t| <= 1, far(t) for 1 < |t| < 2.
constexpr float kCubicA = -0.75f;
constexpr float cubic_near(float t) { return ((kCubicA + 2.0f) * t - (kCubicA + 3.0f)) * t * t + 1.0f; }
constexpr float cubic_far(float t) {
  return ((kCubicA * t - 5.0f * kCubicA) * t + 8.0f * kCubicA) * t - 4.0f * kCubicA;
}

}  // namespace detail

inline ResizeTaps resize_taps(ResizeMode mode, index_t in, index_t out, index_t d) {
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  float source = scale * (static_cast<float>(d) + 0.5f) - 0.5f;
  ResizeTaps taps;
  if (mode == ResizeMode::bilinear) {
    if (in == out) {  // PyTorch's shortcut: exactly the identity
      taps.count = 2;
      taps.index[0] = taps.index[1] = d;
      taps.weight[0] = 1.0f;
      return taps;
    }
    source = std::max(source, 0.0f);
  }
  const index_t base = std::min(static_cast<index_t>(std::floor(source)), in - 1);
  const float t = std::clamp(source - static_cast<float>(base), 0.0f, 1.0f);
  const auto clamp_index = [in](index_t i) { return std::clamp<index_t>(i, 0, in - 1); };
  if (mode == ResizeMode::bilinear) {
    taps.count = 2;
    taps.index[0] = base;
    taps.index[1] = base < in - 1 ? base + 1 : base;
    taps.weight[0] = 1.0f - t;
    taps.weight[1] = t;
  } else {
    taps.count = 4;
    for (int k = 0; k < 4; ++k) {
      taps.index[k] = clamp_index(base - 1 + k);
    }
    taps.weight[0] = detail::cubic_far(t + 1.0f);
    taps.weight[1] = detail::cubic_near(t);
    taps.weight[2] = detail::cubic_near(1.0f - t);
    taps.weight[3] = detail::cubic_far((1.0f - t) + 1.0f);
  }
  return taps;
}

}  // namespace internvl::ops
