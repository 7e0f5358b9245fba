// Channels-first LayerNorm (the segmentation FPN, after its first transposed convolution): at each
// pixel (n, h, w) the C channel values are normalised,
//   y[n, c, h, w] = (x[n, c, h, w] − μ) / sqrt(σ² + eps) · w[c] + b[c],
//   μ = mean_c x[n, c, h, w],  σ² = mean_c (x[n, c, h, w] − μ)²   (biased)
// Shapes: x, y [N, C, H, W] with dense H×W planes; w, b [C]. Statistics in f32, robust to a large
// common offset. y may be x (in place).
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

template <class Backend>
struct LayerNormChannels {
  static_assert(dependent_false<Backend>,
                "internvl: ops::layer_norm_channels has no implementation for this backend; include "
                "<internvl/backend/<backend>/layer_norm_channels.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void layer_norm_channels(Context<Backend>& ctx, View<T, 4> y, std::type_identity_t<CView<T, 4>> x, CView<float, 1> w,
                         CView<float, 1> b, float eps) {
  static_assert(computes_in<Backend, T>,
                "internvl: ops::layer_norm_channels: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::layer_norm_channels";
  detail::check_channel_norm(op, y, x, w, b, eps);
  detail::profiled(ctx, op, 0.0, [&] { LayerNormChannels<Backend>::run(ctx, y, x, w, b, eps); });
}

}  // namespace internvl::ops
