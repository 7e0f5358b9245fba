// The attention-pooling probe (facts §5, cls_target 'attention_pooling' of the official
// classification code): the backbone's last-block tokens X [B, 1 + N, D] are pooled by a fresh
// AttentionPoolingBlock(D, H heads, qkv bias, LayerNorm eps 1e-5, out_dim D) (layers/attention_pooling.hpp),
// then BatchNorm1d(D, eps 1e-6) and Linear(D → K):
//   logits = BN( AttentionPooling(X) ) · Wᵀ + b                    [B, K]
// Names follow the official module tree: attn_pooling.norm1_{q,k,v}.{weight,bias},
// attn_pooling.cross_attn.{q,k,v}.weight, attn_pooling.cross_attn.{q,k,v}_bias,
// attn_pooling.cross_attn.proj.{weight,bias}, norm.{weight,bias,running_mean,running_var}, head.{weight,bias}.
// The head count is not in the tensors; the description's num_heads gives it (25 for InternViT-6B).
#pragma once

#include <string>

#include "internvl/heads/head_reader.hpp"
#include "internvl/layers/attention_pooling.hpp"
#include "internvl/ops/batch_norm.hpp"
#include "internvl/ops/linear.hpp"

namespace internvl::heads {

struct AttentionPoolProbeWeights {
  models::AttentionPoolingWeights pooling;
  index_t num_heads = 0;
  float ln_eps = 0.0f;
  ops::BatchNormParams norm;  // [D]
  WeightView<2> head;         // [K, D]
  CView<float, 1> head_bias;  // [K]
};

template <class Backend, class T>
AttentionPoolProbeWeights read_attention_pool_probe(HeadReader<Backend, T>& r, index_t width) {
  const HeadDescription& d = r.file().description();
  INTERNVL_CHECK(width % d.num_heads == 0, r.file().path(), "num_heads ", d.num_heads,
                 " does not divide the backbone's hidden size ", width);
  const std::string p = "attn_pooling.";
  const auto vector = [&](const std::string& name) { return r.vector(p + name, width); };
  const auto matrix = [&](const std::string& name) { return r.matrix(p + name, Extents<2>{width, width}); };
  AttentionPoolProbeWeights w;
  w.pooling = {.norm_q_weight = vector("norm1_q.weight"),
               .norm_q_bias = vector("norm1_q.bias"),
               .norm_k_weight = vector("norm1_k.weight"),
               .norm_k_bias = vector("norm1_k.bias"),
               .norm_v_weight = vector("norm1_v.weight"),
               .norm_v_bias = vector("norm1_v.bias"),
               .q = matrix("cross_attn.q.weight"),
               .k = matrix("cross_attn.k.weight"),
               .v = matrix("cross_attn.v.weight"),
               .q_bias = vector("cross_attn.q_bias"),
               .k_bias = vector("cross_attn.k_bias"),
               .v_bias = vector("cross_attn.v_bias"),
               .proj = matrix("cross_attn.proj.weight"),
               .proj_bias = vector("cross_attn.proj.bias")};
  w.num_heads = d.num_heads;
  w.ln_eps = d.ln_eps;
  w.norm = r.batch_norm("norm", width, d.bn_eps);
  w.head = r.matrix("head.weight", Extents<2>{d.num_classes, width});
  w.head_bias = r.vector("head.bias", d.num_classes);
  return w;
}

// logits [B, K] from the last block's tokens [B, 1 + N, D].
template <class Backend, class T>
void attention_pool_probe(Context<Backend>& ctx, const AttentionPoolProbeWeights& w, View<T, 2> logits,
                          CView<T, 3> tokens) {
  auto& ws = ctx.workspace();
  auto scope = ws.scope();
  View<T, 2> pooled = ws.template tensor<T>(Extents<2>{tokens.size(0), w.pooling.proj.size(0)});  // [B, D]
  layers::attention_pooling(ctx, w.pooling, w.num_heads, pooled, tokens, w.ln_eps);
  ops::batch_norm(ctx, pooled, CView<T, 2>(pooled), w.norm.running_mean, w.norm.running_var, w.norm.weight, w.norm.bias,
                  w.norm.eps);
  ops::linear(ctx, logits, CView<T, 2>(pooled), w.head, w.head_bias);
}

}  // namespace internvl::heads
