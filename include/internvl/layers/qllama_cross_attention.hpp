// QLLaMA cross-attention (facts §2.2 step 2): how the learned queries read the image. For the query
// rows x [B·Q, D] of B images (updated in place) and the InternViT tokens vis [B·Nv, Dv] of the same
// images (all of them, class token included):
//   q = RMSNorm₁(x)·W_qᵀ                            [B·Q, D]
//   k = RMSNorm₂(vis)·W_kᵀ, v = RMSNorm₂(vis)·W_vᵀ   [B·Nv, D]   (Dv → D)
//   x ← x + concat_j softmax(q_j k_jᵀ/√Dh) v_j · W_oᵀ   per image and head; no RoPE, no mask
// ref: OpenGVLab/InternVL modeling_qllama.py, LlamaCrossAttention.forward and LlamaDecoderLayer.forward
#pragma once

#include <cmath>

#include "internvl/config/qllama.hpp"
#include "internvl/core/workspace.hpp"
#include "internvl/models/qllama_weights.hpp"
#include "internvl/ops/add.hpp"
#include "internvl/ops/attention.hpp"
#include "internvl/ops/linear.hpp"
#include "internvl/ops/rms_norm.hpp"

namespace internvl::layers {

template <class Backend, class T>
void qllama_cross_attention(Context<Backend>& ctx, const config::QLlamaConfig& c,
                            const models::QLlamaCrossAttentionWeights& w, View<T, 2> x, CView<T, 2> vis,
                            index_t batch) {
  const index_t queries = x.size(0) / batch, vision_tokens = vis.size(0) / batch;
  const index_t d = c.hidden_size, heads = c.num_attention_heads, head_dim = c.head_dim();
  const auto eps = static_cast<float>(c.rms_norm_eps);
  auto& ws = ctx.workspace();
  auto scope = ws.scope();
  View<T, 2> h = ws.template tensor<T>(x.shape());  // [B·Q, D]
  ops::rms_norm(ctx, h, CView<T, 2>(x), w.norm1, eps);
  View<T, 2> q = ws.template tensor<T>(x.shape());  // [B·Q, D]
  ops::linear(ctx, q, CView<T, 2>(h), w.q_proj);
  View<T, 2> vis_normed = ws.template tensor<T>(vis.shape());  // [B·Nv, Dv]
  ops::rms_norm(ctx, vis_normed, vis, w.norm2, eps);
  View<T, 2> k = ws.template tensor<T>(Extents<2>{vis.size(0), d});  // [B·Nv, D]
  View<T, 2> v = ws.template tensor<T>(Extents<2>{vis.size(0), d});
  ops::linear(ctx, k, CView<T, 2>(vis_normed), w.k_proj);
  ops::linear(ctx, v, CView<T, 2>(vis_normed), w.v_proj);
  const Extents<4> query_split{batch, queries, heads, head_dim};
  const Extents<4> key_split{batch, vision_tokens, heads, head_dim};
  ops::attention(ctx, View<T, 4>(h.data(), query_split), CView<T, 4>(q.data(), query_split),
                 CView<T, 4>(k.data(), key_split), CView<T, 4>(v.data(), key_split),
                 ops::AttentionOptions{.scale = 1.0f / std::sqrt(static_cast<float>(head_dim))});  // h ← o
  ops::linear(ctx, q, CView<T, 2>(h), w.o_proj);                                                   // q ← o·W_oᵀ
  ops::add(ctx, x, CView<T, 2>(x), CView<T, 2>(q));
}

}  // namespace internvl::layers
