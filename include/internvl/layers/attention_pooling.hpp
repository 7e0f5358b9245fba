// Attention pooling (InternVL-C/G's clip_projector and clip_projector2, facts §3.1; the attention-pooling
// probe, facts §5): one query, the mean of the tokens, attends to all of them; no residual, no MLP, no
// output norm. For x [B, S, dim]:
//   x̄ = mean_s x[b, s, :]                                                        [B, dim]
//   q = LN_q(x̄)·W_qᵀ + b_q,  k = LN_k(x)·W_kᵀ + b_k,  v = LN_v(x)·W_vᵀ + b_v     LayerNorm eps 1e-5 (default)
//   out[b] = concat_j softmax(q_j k_jᵀ / √(dim/H)) v_j · W_projᵀ + b_proj        [B, E], H heads
// ref: OpenGVLab/InternVL modeling_internvl.py, AttentionPoolingBlock / AttentiveBlock / CrossAttention
#pragma once

#include <cmath>

#include "internvl/core/workspace.hpp"
#include "internvl/models/internvl_weights.hpp"
#include "internvl/ops/attention.hpp"
#include "internvl/ops/layer_norm.hpp"
#include "internvl/ops/linear.hpp"
#include "internvl/ops/mean_tokens.hpp"

namespace internvl::layers {

inline constexpr float kAttentionPoolingEps = 1e-5f;  // PyTorch's LayerNorm default

template <class Backend, class T>
void attention_pooling(Context<Backend>& ctx, const models::AttentionPoolingWeights& w, index_t heads, View<T, 2> out,
                       CView<T, 3> x, float eps = kAttentionPoolingEps) {
  const index_t batch = x.size(0), tokens = x.size(1), dim = x.size(2), head_dim = dim / heads;
  auto& ws = ctx.workspace();
  auto scope = ws.scope();
  View<T, 2> mean = ws.template tensor<T>(Extents<2>{batch, dim});  // [B, dim]
  ops::mean_tokens(ctx, mean, x, 0, tokens);
  ops::layer_norm(ctx, mean, CView<T, 2>(mean), w.norm_q_weight, w.norm_q_bias, eps);
  View<T, 2> q = ws.template tensor<T>(Extents<2>{batch, dim});  // [B, dim]
  ops::linear(ctx, q, CView<T, 2>(mean), w.q, w.q_bias);
  const CView<T, 2> rows = x.reshape(Extents<2>{batch * tokens, dim});  // [B·S, dim]
  View<T, 2> normed = ws.template tensor<T>(rows.shape());
  View<T, 2> k = ws.template tensor<T>(rows.shape());
  View<T, 2> v = ws.template tensor<T>(rows.shape());
  ops::layer_norm(ctx, normed, rows, w.norm_k_weight, w.norm_k_bias, eps);
  ops::linear(ctx, k, CView<T, 2>(normed), w.k, w.k_bias);
  ops::layer_norm(ctx, normed, rows, w.norm_v_weight, w.norm_v_bias, eps);
  ops::linear(ctx, v, CView<T, 2>(normed), w.v, w.v_bias);
  const Extents<4> query_split{batch, 1, heads, head_dim};
  const Extents<4> key_split{batch, tokens, heads, head_dim};
  ops::attention(ctx, View<T, 4>(mean.data(), query_split), CView<T, 4>(q.data(), query_split),
                 CView<T, 4>(k.data(), key_split), CView<T, 4>(v.data(), key_split),
                 ops::AttentionOptions{.scale = 1.0f / std::sqrt(static_cast<float>(head_dim))});  // mean ← o
  ops::linear(ctx, out, CView<T, 2>(mean), w.proj, w.proj_bias);
}

}  // namespace internvl::layers
