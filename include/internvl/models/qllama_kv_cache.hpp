// The key/value cache of QLLaMA's decoding (captioning): for each of the L layers, K and V
// [R, capacity, H, Dh] (RoPE applied to K), taken from the context's workspace, so in the backend's
// memory and valid while the workspace scope current at construction lives. Positions [0, length) of
// every sequence are filled.
//   gather(sources, from)   sequence r ← sequence sources[r], positions [from, length) only: beam
//                           search keeps the beams it extends, and every beam of an image shares its
//                           first positions (the queries and the prompt), so those need no copy
// Each layer's slice is gathered as rows [R, (length − from)·D] (ops::embedding is that row gather)
// into scratch and copied back, so sources may name any sequence, the destination itself included.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "internvl/config/qllama.hpp"
#include "internvl/layers/qllama_attention.hpp"
#include "internvl/ops/copy.hpp"
#include "internvl/ops/embedding.hpp"

namespace internvl::models {

template <class Backend, class T = default_activation_t<Backend>>
class QLlamaKvCache {
 public:
  QLlamaKvCache(Context<Backend>& ctx, const config::QLlamaConfig& c, index_t sequences, index_t capacity) {
    INTERNVL_CHECK(sequences > 0 && capacity > 0, "QLlamaKvCache", "needs at least one sequence and one position, got ",
                   sequences, " sequences of ", capacity);
    const Extents<4> shape{sequences, capacity, c.num_attention_heads, c.head_dim()};
    for (int l = 0; l < c.num_hidden_layers; ++l) {
      keys_.push_back(ctx.workspace().template tensor<T>(shape));
      values_.push_back(ctx.workspace().template tensor<T>(shape));
    }
  }

  index_t sequences() const { return keys_.front().size(0); }
  index_t capacity() const { return keys_.front().size(1); }
  index_t length() const { return length_; }

  // Layer `layer`'s cache for the first `rows` sequences.
  layers::KvCacheSlot<T> slot(std::size_t layer, index_t rows) const {
    INTERNVL_CHECK(rows > 0 && rows <= sequences(), "QLlamaKvCache", "the cache holds ", sequences(), " sequences, ",
                   rows, " were asked for");
    return {keys_[layer].slice(0, 0, rows), values_[layer].slice(0, 0, rows), length_};
  }

  // After every layer has appended `tokens` positions.
  void advance(index_t tokens) { length_ += tokens; }

  void gather(Context<Backend>& ctx, std::span<const std::int32_t> sources, index_t from) {
    const auto count = static_cast<index_t>(sources.size());
    INTERNVL_CHECK(count <= sequences() && from >= 0 && from <= length_, "QLlamaKvCache::gather", count,
                   " sequences of positions [", from, ", ", length_, ") do not fit a cache of ", sequences(),
                   " sequences");
    if (count == 0 || from == length_) {
      return;
    }
    const View<T, 4>& any = keys_.front();
    const index_t positions = length_ - from, width = any.size(2) * any.size(3);  // width: H·Dh
    auto scope = ctx.workspace().scope();
    View<T, 2> moved = ctx.workspace().template tensor<T>(Extents<2>{count, positions * width});
    const CView<std::int32_t, 1> rows(sources.data(), Extents<1>{count});
    for (std::vector<View<T, 4>>* kind : {&keys_, &values_}) {
      for (const View<T, 4>& kv : *kind) {
        const View<T, 4> span = layers::KvCacheSlot<T>::positions(kv, from, positions);  // [R, P, H, Dh]
        ops::embedding(
            ctx, moved, rows,
            CView<T, 2>(span.data(), Extents<2>{sequences(), positions * width}, Extents<2>{span.stride(0), 1}));
        ops::copy(ctx, span.slice(0, 0, count),
                  CView<T, 4>(moved.data(), Extents<4>{count, positions, any.size(2), any.size(3)}));
      }
    }
  }

 private:
  std::vector<View<T, 4>> keys_, values_;  // per layer
  index_t length_ = 0;
};

}  // namespace internvl::models
