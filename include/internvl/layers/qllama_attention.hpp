// QLLaMA self-attention (facts §2.2 step 1). For h [B·T, D], the normed hidden states of B sequences
// of T tokens:
//   q, k, v = h·W_qᵀ, h·W_kᵀ, h·W_vᵀ          [B·T, D] each, one packed [B·T, 3D] buffer, no bias
//   q ← RoPE(q), k ← RoPE(k)                    positions p0..p0+T−1 of every sequence (rotate-half)
//   o_j = softmax(q_j K_jᵀ/√Dh + mask) V_j      per sequence and head j, softmax in f32, over the keys
//                                               K = k, V = v, or, with a cache, the p0 cached keys and
//                                               values followed by k and v; the mask is none (the
//                                               queries, bidirectional) or causal (+ key padding), as
//                                               `mask` says
//   out = concat_j(o_j)·W_oᵀ                    [B·T, D]
// Without a cache p0 = 0. With one (decoding), p0 = cache.length and this call's k and v are written
// to positions [p0, p0 + T) of the cache, where later calls read them.
// ref: OpenGVLab/InternVL modeling_qllama.py, LlamaAttention.forward (past_key_value)
#pragma once

#include <cmath>

#include "internvl/config/qllama.hpp"
#include "internvl/layers/vision_attention.hpp"
#include "internvl/models/qllama_weights.hpp"
#include "internvl/ops/copy.hpp"
#include "internvl/ops/rotary_embedding.hpp"

namespace internvl::layers {

// One layer's keys and values of B sequences, K and V [B, capacity, H, Dh] (RoPE applied to K);
// positions [0, length) hold the tokens seen so far.
template <class T>
struct KvCacheSlot {
  View<T, 4> keys, values;
  index_t length = 0;

  // K or V of positions [0, end) as [B, end, H, Dh].
  static CView<T, 4> prefix(const View<T, 4>& kv, index_t end) {
    return {kv.data(), Extents<4>{kv.size(0), end, kv.size(2), kv.size(3)}, kv.strides()};
  }
  // K or V of positions [begin, begin + count) as [B, count, H, Dh].
  static View<T, 4> positions(const View<T, 4>& kv, index_t begin, index_t count) {
    return {kv.data() + begin * kv.stride(1), Extents<4>{kv.size(0), count, kv.size(2), kv.size(3)}, kv.strides()};
  }
};

// out [B·T, D] = SelfAttn(h [B·T, D]) for `batch` sequences; mask.scale is ignored (1/√Dh is used).
template <class Backend, class T>
void qllama_self_attention(Context<Backend>& ctx, const config::QLlamaConfig& c, const models::QLlamaLayerWeights& w,
                           View<T, 2> out, CView<T, 2> h, index_t batch, ops::AttentionOptions mask,
                           const KvCacheSlot<T>* cache = nullptr) {
  const index_t rows = h.size(0), d = c.hidden_size, heads = c.num_attention_heads, head_dim = c.head_dim();
  const index_t tokens = rows / batch, first = cache ? cache->length : 0;
  if (cache) {
    INTERNVL_CHECK(cache->keys.size(0) == batch && first + tokens <= cache->keys.size(1), "QLLaMA self-attention",
                   "the key/value cache holds ", cache->keys.size(0), " sequences of up to ", cache->keys.size(1),
                   " positions, ", first, " filled; ", batch, " sequences of ", tokens, " more tokens do not fit");
  }
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
  const ops::RotaryOptions rope{.base = static_cast<float>(c.rope_theta), .first_position = first};
  ops::rotary_embedding(ctx, q, CView<T, 4>(q), rope);
  CView<T, 4> keys = k, values = v;
  if (cache) {  // append this call's keys and values, then attend over everything cached
    ops::rotary_embedding(ctx, KvCacheSlot<T>::positions(cache->keys, first, tokens), CView<T, 4>(k), rope);
    ops::copy(ctx, KvCacheSlot<T>::positions(cache->values, first, tokens), CView<T, 4>(v));
    keys = KvCacheSlot<T>::prefix(cache->keys, first + tokens);
    values = KvCacheSlot<T>::prefix(cache->values, first + tokens);
  } else {
    ops::rotary_embedding(ctx, k, CView<T, 4>(k), rope);
  }
  View<T, 2> o = ws.template tensor<T>(Extents<2>{rows, d});  // [B·T, D]
  mask.scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  ops::attention(ctx, View<T, 4>(o.data(), split), CView<T, 4>(q), keys, values, mask);
  ops::linear(ctx, out, CView<T, 2>(o), w.o_proj);
}

}  // namespace internvl::layers
