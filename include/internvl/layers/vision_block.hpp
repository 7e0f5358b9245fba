// One InternViT encoder layer (pre-norm, LayerScale; facts §1.3), updating x in place:
//   x ← x + γ₁ ⊙ Attn(Norm₁(x))             Attn ends in the projection o·W_projᵀ + b_proj
//   x ← x + γ₂ ⊙ MLP (Norm₂(x))             MLP(h) = fc2(GELU(fc1(h))), exact-erf GELU
// Norm = RMSNorm (6B family) or LayerNorm with bias (300M), eps from the config. No dropout or
// drop-path at inference. Shapes: x [B·S, D] for B images of S tokens; the MLP's hidden [B·S, F].
// Every step is one op that a backend may fuse (each defined as its two ops in turn):
//   Norm₁ and qkv           ops::norm_linear (layers/vision_attention.hpp; cpu: in the GEMM's packing)
//   Norm₂, where it goes:   backends that fuse a norm into a linear layer (fuses_norm_into_linear:
//                           cpu) add γ₁ ⊙ proj(o) to x in proj's epilogue (ops::scaled_residual_linear)
//                           and normalize x while fc1 packs it (ops::norm_linear); the others run
//                           the residual add and Norm₂ as one op (ops::scaled_residual_add_norm: one
//                           kernel on CUDA) and fc1 on its output
//   fc2 and the residual    ops::scaled_residual_linear (cpu: in the GEMM's epilogue)
// ref: OpenGVLab/InternVL modeling_intern_vit.py, InternVisionEncoderLayer.forward
#pragma once

#include "internvl/layers/vision_attention.hpp"
#include "internvl/ops/linear.hpp"
#include "internvl/ops/norm_linear.hpp"
#include "internvl/ops/scaled_residual_add_norm.hpp"
#include "internvl/ops/scaled_residual_linear.hpp"

namespace internvl::layers {

template <class Backend, class T>
void vision_block(Context<Backend>& ctx, const config::VisionConfig& c, const models::VisionLayerWeights& w,
                  View<T, 2> x, index_t batch) {
  const auto eps = static_cast<float>(c.layer_norm_eps);
  const ops::Normalization norm1{.kind = c.norm_type, .weight = w.norm1_weight, .bias = w.norm1_bias, .eps = eps};
  const ops::Normalization norm2{.kind = c.norm_type, .weight = w.norm2_weight, .bias = w.norm2_bias, .eps = eps};
  auto& ws = ctx.workspace();
  auto scope = ws.scope();
  constexpr bool norm_in_fc1 = fuses_norm_into_linear<Backend>;
  View<T, 2> h = norm_in_fc1 ? View<T, 2>{} : ws.template tensor<T>(x.shape());  // [B·S, D] Norm₂(x), as its own op
  {
    auto heads_scope = ws.scope();  // the heads' outputs and proj's live only until the first residual is in x
    View<T, 2> o = ws.template tensor<T>(x.shape());  // [B·S, D]
    attention_heads(ctx, c, w, o, CView<T, 2>(x), norm1, batch);
    if constexpr (norm_in_fc1) {
      ops::scaled_residual_linear(ctx, x, CView<T, 2>(o), w.proj, w.proj_bias, w.ls1);  // x ← x + γ₁ ⊙ proj(o)
    } else {
      View<T, 2> a = ws.template tensor<T>(x.shape());  // [B·S, D] proj(o)
      ops::linear(ctx, a, CView<T, 2>(o), w.proj, w.proj_bias);
      ops::scaled_residual_add_norm(ctx, x, h, CView<T, 2>(a), w.ls1, c.norm_type, w.norm2_weight, w.norm2_bias,
                                    eps);  // x ← x + γ₁ ⊙ a;  h ← Norm₂(x)
    }
  }
  View<T, 2> hidden = ws.template tensor<T>(Extents<2>{x.size(0), w.fc1.size(0)});  // [B·S, F]
  if constexpr (norm_in_fc1) {
    ops::norm_linear(ctx, hidden, CView<T, 2>(x), norm2, w.fc1, w.fc1_bias, ops::Activation::gelu);
  } else {
    ops::linear(ctx, hidden, CView<T, 2>(h), w.fc1, w.fc1_bias, ops::Activation::gelu);
  }
  ops::scaled_residual_linear(ctx, x, CView<T, 2>(hidden), w.fc2, w.fc2_bias, w.ls2);  // x ← x + γ₂ ⊙ fc2(hidden)
}

}  // namespace internvl::layers
