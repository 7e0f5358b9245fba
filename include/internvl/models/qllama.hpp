// QLLaMA (facts §2): token embeddings, L decoder layers (self-attention with RoPE; cross-attention to
// the image in the layers l % cross_attention_frequency == 0), a final RMSNorm. It is run two ways
// (facts §2.3):
//   image path  x = the Q learned queries of each image; the queries attend to each other both ways
//               (no mask) and, in the cross-attention layers, to the InternViT tokens of their image
//   text path   x = embed(ids); causal attention with key padding (ids > 0); no cross-attention: a
//               text never sees an image, so its embedding can be compared with any image's
//   captioning  (InternVL-G's generate, facts §2.3) the Q queries of an image, then text: the queries
//               run as on the image path (text cannot change them), every text position sees all Q
//               queries and the text before it, and text never cross-attends. So cache_queries runs
//               the image path once to fill a key/value cache (models/qllama_kv_cache.hpp) with the
//               queries' keys and values at positions 0..Q−1, and decode runs text at the positions
//               after what the cache holds, appending to it; logits gives the next-token scores.
// All return the hidden states after the final norm. Hidden states are numbered as for InternViT:
// 0 = the input rows, k = the output of layer k (before the final norm); taps see them as computed.
// Token ids are int32 in host memory (the key padding mask is placed where the backend's kernels read
// it).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "internvl/backend/transfer.hpp"
#include "internvl/config/qllama.hpp"
#include "internvl/layers/qllama_block.hpp"
#include "internvl/models/qllama_kv_cache.hpp"
#include "internvl/models/qllama_weights.hpp"
#include "internvl/ops/embedding.hpp"

namespace internvl::models {

// A tap that ignores every hidden state.
struct NoTap {
  template <class View>
  void operator()(int, const View&) const {}
};

template <class Backend, class T = default_activation_t<Backend>>
class QLlama {
 public:
  QLlama(const config::QLlamaConfig& config, QLlamaWeights weights) : config_(config), weights_(std::move(weights)) {}

  const config::QLlamaConfig& config() const { return config_; }
  const QLlamaWeights& weights() const { return weights_; }

  // Image path: out [B, Q, D] = the query outputs for the vision tokens [B, Nv, Dv] of B images
  // (InternViT's last hidden state, class token included).
  template <class Tap = NoTap>
  void encode_queries(Context<Backend>& ctx, View<T, 3> out, CView<T, 3> vision, Tap&& tap = {}) const {
    encode_queries(ctx, out, vision, tap, nullptr);
  }

  // Text path: out [B, L, D] = the hidden states of the token ids [B, L] (right-padded with 0).
  template <class Tap = NoTap>
  void encode_text(Context<Backend>& ctx, View<T, 3> out, CView<std::int32_t, 2> ids, Tap&& tap = {}) const {
    const index_t batch = ids.size(0), length = ids.size(1), d = config_.hidden_size;
    INTERNVL_CHECK(out.shape() == (Extents<3>{batch, length, d}), "QLLaMA", "text hidden states have shape ",
                   shape_string(out), ", expected ", shape_string(Extents<3>{batch, length, d}));
    std::vector<std::uint8_t> visible;  // the key padding mask: ids > 0 (pad id 0)
    for (index_t b = 0; b < batch; ++b) {
      for (index_t s = 0; s < length; ++s) {
        visible.push_back(ids(b, s) > 0 ? 1 : 0);
      }
    }
    embed(ctx, out, ids);
    auto scope = ctx.workspace().scope();
    const ops::AttentionOptions mask{
        .causal = true,
        .key_mask = place_on_backend(ctx, CView<std::uint8_t, 2>(visible.data(), Extents<2>{batch, length}))};
    run(ctx, out, mask, CView<T, 2>{}, tap);
  }

  // Captioning's first step: fills positions [0, Q) of sequences [0, B) of an empty cache with the
  // keys and values of the queries of the vision tokens [B, Nv, Dv].
  void cache_queries(Context<Backend>& ctx, QLlamaKvCache<Backend, T>& cache, CView<T, 3> vision) const {
    INTERNVL_CHECK(cache.length() == 0, "QLLaMA", "the queries go first: the cache already holds ", cache.length(),
                   " positions");
    auto scope = ctx.workspace().scope();
    View<T, 3> out =
        ctx.workspace().template tensor<T>(Extents<3>{vision.size(0), config_.num_query_token, config_.hidden_size});
    encode_queries(ctx, out, vision, NoTap{}, &cache);
  }

  // Captioning's text: out [R, T, D] = the hidden states (after the final norm) of the token ids
  // [R, T] of the first R sequences, at the positions after the cache's, which they see with the
  // cache (causal, nothing padded); their keys and values are appended to the cache.
  void decode(Context<Backend>& ctx, View<T, 3> out, CView<std::int32_t, 2> ids,
              QLlamaKvCache<Backend, T>& cache) const {
    const index_t rows = ids.size(0), length = ids.size(1), d = config_.hidden_size;
    INTERNVL_CHECK(out.shape() == (Extents<3>{rows, length, d}), "QLLaMA", "decoded hidden states have shape ",
                   shape_string(out), ", expected ", shape_string(Extents<3>{rows, length, d}));
    embed(ctx, out, ids);
    run(ctx, out, ops::AttentionOptions{.causal = true}, CView<T, 2>{}, NoTap{}, &cache);
  }

  // Next-token logits [R, V] = hidden [R, D] · lm_headᵀ.
  void logits(Context<Backend>& ctx, View<T, 2> out, CView<T, 2> hidden) const {
    ops::linear(ctx, out, hidden, weights_.lm_head);
  }

 private:
  template <class Tap>
  void encode_queries(Context<Backend>& ctx, View<T, 3> out, CView<T, 3> vision, Tap&& tap,
                      QLlamaKvCache<Backend, T>* cache) const {
    const index_t batch = vision.size(0), queries = config_.num_query_token, d = config_.hidden_size;
    INTERNVL_CHECK(vision.size(2) == config_.vision_hidden_size, "QLLaMA", "vision tokens are ", vision.size(2),
                   " wide, the cross-attention reads ", config_.vision_hidden_size);
    INTERNVL_CHECK(out.shape() == (Extents<3>{batch, queries, d}), "QLLaMA", "query outputs have shape ",
                   shape_string(out), ", expected ", shape_string(Extents<3>{batch, queries, d}));
    std::vector<std::int32_t> query_ids(static_cast<std::size_t>(batch * queries));  // 0..Q-1 per image
    for (std::size_t i = 0; i < query_ids.size(); ++i) {
      query_ids[i] = static_cast<std::int32_t>(static_cast<index_t>(i) % queries);
    }
    View<T, 2> rows = out.reshape(Extents<2>{batch * queries, d});
    ops::embedding(ctx, rows, CView<std::int32_t, 1>(query_ids.data(), Extents<1>{batch * queries}),
                   weights_.query_tokens);
    run(ctx, out, ops::AttentionOptions{}, vision.reshape(Extents<2>{batch * vision.size(1), vision.size(2)}), tap,
        cache);
  }

  // out [B, L, D] = the token embeddings of ids [B, L].
  void embed(Context<Backend>& ctx, View<T, 3> out, CView<std::int32_t, 2> ids) const {
    const index_t count = ids.size(0) * ids.size(1);
    std::vector<std::int32_t> flat;  // ids may be strided
    flat.reserve(static_cast<std::size_t>(count));
    for (index_t b = 0; b < ids.size(0); ++b) {
      for (index_t s = 0; s < ids.size(1); ++s) {
        flat.push_back(ids(b, s));
      }
    }
    ops::embedding(ctx, out.reshape(Extents<2>{count, out.size(2)}),
                   CView<std::int32_t, 1>(flat.data(), Extents<1>{count}), weights_.embed_tokens);
  }

  // x [B, T, D] in place: the L layers, then the final norm. vis [B·Nv, Dv] or empty. With a cache,
  // each layer reads and appends to its slot, and the cache advances by T at the end.
  template <class Tap>
  void run(Context<Backend>& ctx, View<T, 3> x, const ops::AttentionOptions& mask, CView<T, 2> vis, Tap&& tap,
           QLlamaKvCache<Backend, T>* cache = nullptr) const {
    const index_t batch = x.size(0);
    INTERNVL_CHECK(vis.data() == nullptr || x.size(1) == config_.num_query_token, "QLLaMA",
                   "cross-attention runs on the ", config_.num_query_token, " queries alone, got ", x.size(1),
                   " rows per image");
    View<T, 2> rows = x.reshape(Extents<2>{batch * x.size(1), x.size(2)});  // [B·T, D]
    tap(0, CView<T, 3>(x));
    for (std::size_t l = 0; l < weights_.layers.size(); ++l) {
      if (cache) {
        const layers::KvCacheSlot<T> slot = cache->slot(l, batch);
        layers::qllama_block(ctx, config_, weights_.layers[l], rows, batch, mask, vis, &slot);
      } else {
        layers::qllama_block(ctx, config_, weights_.layers[l], rows, batch, mask, vis);
      }
      tap(static_cast<int>(l) + 1, CView<T, 3>(x));
    }
    if (cache) {
      cache->advance(x.size(1));
    }
    ops::rms_norm(ctx, rows, CView<T, 2>(rows), weights_.norm, static_cast<float>(config_.rms_norm_eps));
  }

  config::QLlamaConfig config_;
  QLlamaWeights weights_;
};

}  // namespace internvl::models
