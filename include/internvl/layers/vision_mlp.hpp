// InternViT MLP branch with its LayerScale residual (facts §1.3 steps 8-9):
//   x ← x + γ₂ ⊙ fc2( GELU( fc1(h) ) )
// GELU in the exact erf form, fused into fc1's epilogue; γ₂ and the residual fused into fc2's where the
// backend can (ops/scaled_residual_linear.hpp). Shapes: x, h [M, D]; the hidden activation [M, F]
// lives in scratch.
#pragma once

#include "internvl/core/workspace.hpp"
#include "internvl/models/vision_weights.hpp"
#include "internvl/ops/linear.hpp"
#include "internvl/ops/scaled_residual_linear.hpp"

namespace internvl::layers {

template <class Backend, class T>
void vision_mlp(Context<Backend>& ctx, const models::VisionLayerWeights& w, View<T, 2> x, CView<T, 2> h) {
  auto& ws = ctx.workspace();
  auto scope = ws.scope();
  View<T, 2> hidden = ws.template tensor<T>(Extents<2>{h.size(0), w.fc1.size(0)});   // [M, F]
  ops::linear(ctx, hidden, h, w.fc1, w.fc1_bias, ops::Activation::gelu);
  ops::scaled_residual_linear(ctx, x, CView<T, 2>(hidden), w.fc2, w.fc2_bias, w.ls2);
}

}  // namespace internvl::layers
