// AttentionPoolingBlock (facts §3.1; the attention-pooling probe of §5 and InternVL-C's clip_projector):
// one query, the mean of all S tokens (class token included), attends over the tokens:
//   x̄ = 1/S Σ_s X[b, s, :]                                        [B, D]
//   q = LN_q(x̄)·W_qᵀ + b_q,   k = LN_k(X)·W_kᵀ + b_k,   v = LN_v(X)·W_vᵀ + b_v     (three LayerNorms)
//   o = concat_h softmax(q_h k_hᵀ / √Dh) v_h                       H heads of Dh = D / H
//   out = o·W_projᵀ + b_proj                                       [B, out_dim]
// No residual, no MLP, no output norm. X [B, S, D] contiguous.
// Names (under the block's prefix): norm1_{q,k,v}.{weight,bias}, cross_attn.{q,k,v}.weight,
// cross_attn.{q,k,v}_bias, cross_attn.proj.{weight,bias}.
#pragma once

#include <cmath>

#include "internvl/core/workspace.hpp"
#include "internvl/ops/attention.hpp"
#include "internvl/ops/layer_norm.hpp"
#include "internvl/ops/linear.hpp"
#include "internvl/ops/mean_tokens.hpp"

namespace internvl::layers {

struct AttentionPoolingWeights {
  struct Branch {                            // one of q, k, v
    CView<float, 1> norm_weight, norm_bias;  // [D]
    WeightView<2> weight;                    // [D, D]
    CView<float, 1> bias;                    // [D]
  };
  Branch q, k, v;
  WeightView<2> proj;         // [out_dim, D]
  CView<float, 1> proj_bias;  // [out_dim]
  index_t num_heads = 0;
  float ln_eps = 1e-5f;
};

// out [B, out_dim] = AttentionPooling(x [B, S, D]).
template <class Backend, class T>
void attention_pooling(Context<Backend>& ctx, const AttentionPoolingWeights& w, View<T, 2> out, CView<T, 3> x) {
  const index_t batch = x.size(0), tokens = x.size(1), d = x.size(2), heads = w.num_heads;
  INTERNVL_CHECK(heads > 0 && d % heads == 0 && tokens > 0, "layers::attention_pooling", "tokens ", shape_string(x),
                 " cannot be split into ", heads, " heads");
  const index_t head_dim = d / heads;
  auto& ws = ctx.workspace();
  auto scope = ws.scope();
  const auto project = [&](View<T, 2> y, View<T, 2> normed, CView<T, 2> in, const AttentionPoolingWeights::Branch& b) {
    ops::layer_norm(ctx, normed, in, b.norm_weight, b.norm_bias, w.ln_eps);
    ops::linear(ctx, y, CView<T, 2>(normed), b.weight, b.bias);
  };
  View<T, 2> mean = ws.template tensor<T>(Extents<2>{batch, d});  // [B, D]
  ops::mean_tokens(ctx, mean, x, 0, tokens);
  View<T, 2> q = ws.template tensor<T>(Extents<2>{batch, d});
  project(q, mean, CView<T, 2>(mean), w.q);
  const CView<T, 2> rows = x.reshape(Extents<2>{batch * tokens, d});  // [B·S, D]
  View<T, 2> normed = ws.template tensor<T>(Extents<2>{batch * tokens, d});
  View<T, 2> k = ws.template tensor<T>(Extents<2>{batch * tokens, d});
  View<T, 2> v = ws.template tensor<T>(Extents<2>{batch * tokens, d});
  project(k, normed, rows, w.k);
  project(v, normed, rows, w.v);
  View<T, 2> o = ws.template tensor<T>(Extents<2>{batch, d});
  const Extents<4> one_query{batch, 1, heads, head_dim}, all_keys{batch, tokens, heads, head_dim};
  ops::attention(ctx, View<T, 4>(o.data(), one_query), CView<T, 4>(q.data(), one_query),
                 CView<T, 4>(k.data(), all_keys), CView<T, 4>(v.data(), all_keys),
                 ops::AttentionOptions{.scale = 1.0f / std::sqrt(static_cast<float>(head_dim))});
  ops::linear(ctx, out, CView<T, 2>(o), w.proj, w.proj_bias);
}

}  // namespace internvl::layers
