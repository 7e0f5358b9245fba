// Scaled L2 normalisation of embedding rows (CLIP-style similarities):
//   y[i, :] = s · x[i, :] / ‖x[i, :]‖₂
// computed as RMSNorm with eps 0 and the constant weight s/√E, since ‖x‖₂ = √E · rms(x) for a row of
// E values. `scale` is that weight vector [E] (models keep one with s = 1 and one with s = exp(logit_scale)),
// made by l2_scale_vector. A zero row gives NaN, as x / x.norm() does in PyTorch. y may be x.
#pragma once

#include <cmath>

#include "internvl/core/tensor.hpp"
#include "internvl/ops/rms_norm.hpp"

namespace internvl::layers {

// The weight vector [E] of l2_normalize for the scale s.
inline Tensor<float, 1> l2_scale_vector(index_t width, double scale = 1.0) {
  return Tensor<float, 1>(Extents<1>{width}, static_cast<float>(scale / std::sqrt(static_cast<double>(width))));
}

template <class Backend, class T>
void l2_normalize(Context<Backend>& ctx, View<T, 2> y, CView<T, 2> x, CView<float, 1> scale) {
  ops::rms_norm(ctx, y, x, scale, 0.0f);
}

}  // namespace internvl::layers
