// The row norm a config names (norm_type), with its parameters, and the op that applies it:
//   RMSNorm:    y[i, :] = x[i, :] / sqrt(mean_j x[i, j]² + eps) ⊙ w
//   LayerNorm:  y[i, :] = (x[i, :] − μ_i) / sqrt(σ²_i + eps) ⊙ w + b
// Shapes: x, y [M, D]; w, b [D] (b empty for RMSNorm). ops::norm is ops::rms_norm or ops::layer_norm.
#pragma once

#include "internvl/config/vision.hpp"
#include "internvl/ops/layer_norm.hpp"
#include "internvl/ops/rms_norm.hpp"

namespace internvl::ops {

struct Normalization {
  config::Norm kind = config::Norm::layer_norm;
  CView<float, 1> weight = {};  // [D]
  CView<float, 1> bias = {};    // [D] for LayerNorm, empty for RMSNorm
  float eps = 0.0f;
};

template <class Backend, class T>
void norm(Context<Backend>& ctx, View<T, 2> y, std::type_identity_t<CView<T, 2>> x, const Normalization& n) {
  if (n.kind == config::Norm::rms_norm) {
    ops::rms_norm(ctx, y, x, n.weight, n.eps);
  } else {
    ops::layer_norm(ctx, y, x, n.weight, n.bias, n.eps);
  }
}

}  // namespace internvl::ops
