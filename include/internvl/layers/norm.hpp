// The norm of a config: RMSNorm (weight only) or LayerNorm (weight and bias), chosen at run time.
#pragma once

#include "internvl/config/vision.hpp"
#include "internvl/ops/layer_norm.hpp"
#include "internvl/ops/rms_norm.hpp"

namespace internvl::layers {

template <class Backend, class T>
void norm(Context<Backend>& ctx, config::Norm kind, View<T, 2> y, CView<T, 2> x, CView<float, 1> weight,
          CView<float, 1> bias, float eps) {
  if (kind == config::Norm::rms_norm) {
    ops::rms_norm(ctx, y, x, weight, eps);
  } else {
    ops::layer_norm(ctx, y, x, weight, bias, eps);
  }
}

}  // namespace internvl::layers
