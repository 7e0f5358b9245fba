// One InternViT encoder layer (pre-norm, LayerScale; facts §1.3), updating x in place:
//   x ← x + γ₁ ⊙ Attn(Norm₁(x))
//   x ← x + γ₂ ⊙ MLP (Norm₂(x))
// Norm = RMSNorm (6B family) or LayerNorm with bias (300M), eps from the config. No dropout or
// drop-path at inference. Shapes: x [B·S, D] for B images of S tokens.
// Norm₁ runs inside the qkv projection (ops/norm_linear.hpp: the cpu backend normalizes while its GEMM
// packs). The first residual and Norm₂ run as one op (ops/scaled_residual_add_norm.hpp), which CUDA
// fuses into one pass over the rows; the second is fc2's (layers/vision_mlp.hpp), which the cpu
// backend adds in the GEMM's epilogue.
// ref: OpenGVLab/InternVL modeling_intern_vit.py, InternVisionEncoderLayer.forward
#pragma once

#include "internvl/layers/vision_attention.hpp"
#include "internvl/layers/vision_mlp.hpp"
#include "internvl/ops/scaled_residual_add_norm.hpp"

namespace internvl::layers {

template <class Backend, class T>
void vision_block(Context<Backend>& ctx, const config::VisionConfig& c, const models::VisionLayerWeights& w,
                  View<T, 2> x, index_t batch) {
  const auto eps = static_cast<float>(c.layer_norm_eps);
  auto& ws = ctx.workspace();
  auto scope = ws.scope();
  View<T, 2> h = ws.template tensor<T>(x.shape());       // [B·S, D] the MLP's normed input
  View<T, 2> branch = ws.template tensor<T>(x.shape());  // [B·S, D] the attention branch's output
  const ops::Normalization norm1{.kind = c.norm_type, .weight = w.norm1_weight, .bias = w.norm1_bias, .eps = eps};
  vision_attention(ctx, c, w, branch, CView<T, 2>(x), norm1, batch);
  ops::scaled_residual_add_norm(ctx, x, h, CView<T, 2>(branch), w.ls1, c.norm_type, w.norm2_weight, w.norm2_bias,
                                eps);  // x ← x + γ₁ ⊙ a;  h ← Norm₂(x)
  vision_mlp(ctx, w, x, CView<T, 2>(h));  // x ← x + γ₂ ⊙ MLP(h)
}

}  // namespace internvl::layers
