// QLLaMA (facts §2): token embeddings, L decoder layers (self-attention with RoPE; cross-attention to
// the image in the layers l % cross_attention_frequency == 0), a final RMSNorm. It is run two ways
// (facts §2.3):
//   image path  x = the Q learned queries of each image; the queries attend to each other both ways
//               (no mask) and, in the cross-attention layers, to the InternViT tokens of their image
//   text path   x = embed(ids); causal attention with key padding (ids > 0); no cross-attention: a
//               text never sees an image, so its embedding can be compared with any image's
// Both return the hidden states after the final norm. Hidden states are numbered as for InternViT:
// 0 = the input rows, k = the output of layer k (before the final norm); taps see them as computed.
// Token ids are int32 in host memory (the key padding mask is placed where the backend's kernels read
// it). Queries followed by text (the captioning path) are not run.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "internvl/backend/transfer.hpp"
#include "internvl/config/qllama.hpp"
#include "internvl/layers/qllama_block.hpp"
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
    run(ctx, out, ops::AttentionOptions{}, vision.reshape(Extents<2>{batch * vision.size(1), vision.size(2)}), tap);
  }

  // Text path: out [B, L, D] = the hidden states of the token ids [B, L] (right-padded with 0).
  template <class Tap = NoTap>
  void encode_text(Context<Backend>& ctx, View<T, 3> out, CView<std::int32_t, 2> ids, Tap&& tap = {}) const {
    const index_t batch = ids.size(0), length = ids.size(1), d = config_.hidden_size;
    INTERNVL_CHECK(out.shape() == (Extents<3>{batch, length, d}), "QLLaMA", "text hidden states have shape ",
                   shape_string(out), ", expected ", shape_string(Extents<3>{batch, length, d}));
    std::vector<std::int32_t> flat;
    std::vector<std::uint8_t> visible;  // the key padding mask: ids > 0 (pad id 0)
    flat.reserve(static_cast<std::size_t>(batch * length));
    for (index_t b = 0; b < batch; ++b) {
      for (index_t s = 0; s < length; ++s) {
        flat.push_back(ids(b, s));
        visible.push_back(ids(b, s) > 0 ? 1 : 0);
      }
    }
    ops::embedding(ctx, out.reshape(Extents<2>{batch * length, d}),
                   CView<std::int32_t, 1>(flat.data(), Extents<1>{batch * length}), weights_.embed_tokens);
    auto scope = ctx.workspace().scope();
    const ops::AttentionOptions mask{
        .causal = true,
        .key_mask = place_on_backend(ctx, CView<std::uint8_t, 2>(visible.data(), Extents<2>{batch, length}))};
    run(ctx, out, mask, CView<T, 2>{}, tap);
  }

 private:
  // x [B, T, D] in place: the L layers, then the final norm. vis [B·Nv, Dv] or empty.
  template <class Tap>
  void run(Context<Backend>& ctx, View<T, 3> x, const ops::AttentionOptions& mask, CView<T, 2> vis, Tap&& tap) const {
    const index_t batch = x.size(0);
    INTERNVL_CHECK(vis.data() == nullptr || x.size(1) == config_.num_query_token, "QLLaMA",
                   "cross-attention runs on the ", config_.num_query_token, " queries alone, got ", x.size(1),
                   " rows per image");
    View<T, 2> rows = x.reshape(Extents<2>{batch * x.size(1), x.size(2)});  // [B·T, D]
    tap(0, CView<T, 3>(x));
    for (std::size_t l = 0; l < weights_.layers.size(); ++l) {
      layers::qllama_block(ctx, config_, weights_.layers[l], rows, batch, mask, vis);
      tap(static_cast<int>(l) + 1, CView<T, 3>(x));
    }
    ops::rms_norm(ctx, rows, CView<T, 2>(rows), weights_.norm, static_cast<float>(config_.rms_norm_eps));
  }

  config::QLlamaConfig config_;
  QLlamaWeights weights_;
};

}  // namespace internvl::models
