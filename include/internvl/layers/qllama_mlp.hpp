// QLLaMA's gated MLP (facts §2.1): out = down( silu(gate(h)) ⊙ up(h) ), no biases.
// Shapes: h, out [M, D]; the gate and up activations [M, F] live in scratch.
// ref: OpenGVLab/InternVL modeling_qllama.py, LlamaMLP.forward
#pragma once

#include "internvl/core/workspace.hpp"
#include "internvl/models/qllama_weights.hpp"
#include "internvl/ops/linear.hpp"
#include "internvl/ops/swiglu.hpp"

namespace internvl::layers {

template <class Backend, class T>
void qllama_mlp(Context<Backend>& ctx, const models::QLlamaLayerWeights& w, View<T, 2> out, CView<T, 2> h) {
  auto& ws = ctx.workspace();
  auto scope = ws.scope();
  const Extents<2> hidden{h.size(0), w.gate_proj.size(0)};
  View<T, 2> gate = ws.template tensor<T>(hidden);  // [M, F]
  View<T, 2> up = ws.template tensor<T>(hidden);    // [M, F]
  ops::linear(ctx, gate, h, w.gate_proj);
  ops::linear(ctx, up, h, w.up_proj);
  ops::swiglu(ctx, gate, CView<T, 2>(gate), CView<T, 2>(up));  // gate ← silu(gate) ⊙ up
  ops::linear(ctx, out, CView<T, 2>(gate), w.down_proj);
}

}  // namespace internvl::layers
