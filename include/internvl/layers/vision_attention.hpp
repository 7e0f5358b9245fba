// InternViT self-attention up to its projection (facts §1.3 steps 1-4). For x [B·S, D] (the tokens
// of B images):
//   qkv = Norm₁(x)·W_qkvᵀ (+ b_qkv)          [B·S, 3D]   columns q | k | v, head-major inside each
//   q ← RMSNorm(q), k ← RMSNorm(k)           6B family only: over all D channels, i.e. jointly across
//                                            heads and before the split (not per head)
//   o_j = softmax(q_j k_jᵀ / √Dh) v_j        per image and head j (Dh = D / H)
//   o = concat_j(o_j)                        [B·S, D]
// The projection o·W_projᵀ + b_proj is the block's (layers/vision_block.hpp), which adds it to the
// residual in the way the backend fuses best.
// ref: OpenGVLab/InternVL modeling_intern_vit.py, InternAttention._naive_attn
#pragma once

#include <cmath>

#include "internvl/config/vision.hpp"
#include "internvl/core/workspace.hpp"
#include "internvl/models/vision_weights.hpp"
#include "internvl/ops/attention.hpp"
#include "internvl/ops/linear.hpp"
#include "internvl/ops/norm_linear.hpp"
#include "internvl/ops/rms_norm.hpp"

namespace internvl::layers {

// y[:, columns of part p] = x·W_pᵀ + b_p for the row blocks W_p of a (possibly split) projection.
template <class Backend, class T>
void project_qkv(Context<Backend>& ctx, View<T, 2> y, CView<T, 2> x, const models::QkvWeights& w) {
  index_t column = 0;
  for (const WeightView<2>& part : w.parts) {
    const index_t rows = part.size(0);
    const CView<float, 1> bias = w.bias.data() ? w.bias.slice(0, column, column + rows) : CView<float, 1>{};
    ops::linear(ctx, y.slice(1, column, column + rows), x, part, bias);
    column += rows;
  }
  INTERNVL_CHECK(column == y.size(1), "layers::project_qkv", "projection has ", column, " rows, expected ", y.size(1));
}

// The same of Norm(x). One part (the official checkpoints' fused qkv) takes the norm into its op
// (ops::norm_linear); split parts (transformers' q_proj, k_proj, v_proj) share one normalized copy of x.
template <class Backend, class T>
void project_qkv(Context<Backend>& ctx, View<T, 2> y, CView<T, 2> x, const ops::Normalization& norm,
                 const models::QkvWeights& w) {
  if (w.parts.size() == 1) {
    ops::norm_linear(ctx, y, x, norm, w.parts[0], w.bias);
    return;
  }
  auto& ws = ctx.workspace();
  auto scope = ws.scope();
  View<T, 2> normed = ws.template tensor<T>(x.shape());
  ops::norm(ctx, normed, x, norm);
  project_qkv(ctx, y, CView<T, 2>(normed), w);
}

// o [B·S, D] = the heads' outputs of attention over Norm₁(x [B·S, D]), for `batch` images of S tokens each.
template <class Backend, class T>
void attention_heads(Context<Backend>& ctx, const config::VisionConfig& c, const models::VisionLayerWeights& w,
                     View<T, 2> o, CView<T, 2> x, const ops::Normalization& norm1, index_t batch) {
  const index_t rows = x.size(0), d = c.hidden_size, heads = c.num_attention_heads, head_dim = c.head_dim();
  const index_t tokens = rows / batch;
  auto& ws = ctx.workspace();
  auto scope = ws.scope();
  View<T, 2> qkv = ws.template tensor<T>(Extents<2>{rows, 3 * d});                 // [B·S, 3D]
  project_qkv(ctx, qkv, x, norm1, w.qkv);
  View<T, 2> q = qkv.slice(1, 0, d);                                                // [B·S, D], row stride 3D
  View<T, 2> k = qkv.slice(1, d, 2 * d);
  View<T, 2> v = qkv.slice(1, 2 * d, 3 * d);
  if (c.qk_normalization) {
    ops::rms_norm(ctx, q, q, w.q_norm, static_cast<float>(c.layer_norm_eps));
    ops::rms_norm(ctx, k, k, w.k_norm, static_cast<float>(c.layer_norm_eps));
  }
  // The same memory as [B, S, H, Dh]: image, token, head, channel.
  const Extents<4> split{batch, tokens, heads, head_dim};
  const Extents<4> qkv_strides{tokens * 3 * d, 3 * d, head_dim, 1};
  ops::attention(ctx, View<T, 4>(o.data(), split), CView<T, 4>(q.data(), split, qkv_strides),
                 CView<T, 4>(k.data(), split, qkv_strides), CView<T, 4>(v.data(), split, qkv_strides),
                 ops::AttentionOptions{.scale = 1.0f / std::sqrt(static_cast<float>(head_dim))});
}

}  // namespace internvl::layers
