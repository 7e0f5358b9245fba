// QLLaMA self-attention (facts §2.2 step 1). For h [B·T, D], the normed hidden states of B sequences
// of T tokens:
//   q, k, v = h·W_qᵀ, h·W_kᵀ, h·W_vᵀ          [B·T, D] each, one packed [B·T, 3D] buffer, no bias
//   q ← RoPE(q), k ← RoPE(k)                    positions 0..T−1 of every sequence (rotate-half)
//   o_j = softmax(q_j k_jᵀ/√Dh + mask) v_j      per sequence and head j, softmax in f32; the mask is
//                                               none (the queries, bidirectional) or causal + key
//                                               padding (text), as `mask` says
//   out = concat_j(o_j)·W_oᵀ                    [B·T, D]
// ref: OpenGVLab/InternVL modeling_qllama.py, LlamaAttention.forward
#pragma once

#include <cmath>

#include "internvl/config/qllama.hpp"
#include "internvl/layers/vision_attention.hpp"
#include "internvl/models/qllama_weights.hpp"
#include "internvl/ops/rotary_embedding.hpp"

namespace internvl::layers {

// out [B·T, D] = SelfAttn(h [B·T, D]) for `batch` sequences; mask.scale is ignored (1/√Dh is used).
template <class Backend, class T>
void qllama_self_attention(Context<Backend>& ctx, const config::QLlamaConfig& c, const models::QLlamaLayerWeights& w,
                           View<T, 2> out, CView<T, 2> h, index_t batch, ops::AttentionOptions mask) {
  const index_t rows = h.size(0), d = c.hidden_size, heads = c.num_attention_heads, head_dim = c.head_dim();
  const index_t tokens = rows / batch;
  auto& ws = ctx.workspace();
  auto scope = ws.scope();
  View<T, 2> qkv = ws.template tensor<T>(Extents<2>{rows, 3 * d});  // [B·T, 3D]
  project_qkv(ctx, qkv, h, w.qkv);
  // q, k, v as [B, T, H, Dh] views of the packed buffer.
  const Extents<4> split{batch, tokens, heads, head_dim};
  const Extents<4> strides{tokens * 3 * d, 3 * d, head_dim, 1};
  View<T, 4> q(qkv.data(), split, strides);
  View<T, 4> k(qkv.data() + d, split, strides);
  View<T, 4> v(qkv.data() + 2 * d, split, strides);
  const ops::RotaryOptions rope{.base = static_cast<float>(c.rope_theta)};
  ops::rotary_embedding(ctx, q, CView<T, 4>(q), rope);
  ops::rotary_embedding(ctx, k, CView<T, 4>(k), rope);
  View<T, 2> o = ws.template tensor<T>(Extents<2>{rows, d});  // [B·T, D]
  mask.scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  ops::attention(ctx, View<T, 4>(o.data(), split), CView<T, 4>(q), CView<T, 4>(k), CView<T, 4>(v), mask);
  ops::linear(ctx, out, CView<T, 2>(o), w.o_proj);
}

}  // namespace internvl::layers
