// InternViT: patch embedding, class token, position embedding, then L pre-norm blocks; no final
// norm (facts §1.2-1.4). Images are [B, C, H, W] with H and W multiples of the patch size; any such
// size works (the position embedding is resized bicubically for each grid; the tables of the last
// kResizedPositionTables grids are kept, so that a dataset of many image sizes does not keep one each).
// Hidden states use transformers' numbering: 0 = the embeddings, k = the output of block k, negative k
// counts from the end (-1 = last block); blocks after the deepest requested state are not run.
//
// InternViT<Preset, Backend> runs one of the compiled presets (config/presets.hpp, checked against
// the checkpoint's config.json at load) or, with presets::Dynamic, whatever config.json says. Both
// share VisionEncoder, the one implementation.
#pragma once

#include <algorithm>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "internvl/config/presets.hpp"
#include "internvl/layers/vision_block.hpp"
#include "internvl/models/position_embedding.hpp"
#include "internvl/models/vision_weights.hpp"
#include "internvl/models/weight_store.hpp"
#include "internvl/ops/assemble_tokens.hpp"
#include "internvl/ops/patchify.hpp"

namespace internvl::models {

template <class Backend, class T = default_activation_t<Backend>>
class VisionEncoder {
 public:
  using backend_type = Backend;
  using value_type = T;

  // `keep_alive` owns whatever the weight views point into (the memory-mapped checkpoint).
  VisionEncoder(const config::VisionConfig& config, VisionWeights weights, Tensor<float, 2> native_positions,
                std::shared_ptr<WeightStore<Backend, T>> store, std::shared_ptr<const void> keep_alive)
      : config_(config),
        weights_(std::move(weights)),
        native_positions_(std::move(native_positions)),
        store_(std::move(store)),
        keep_alive_(std::move(keep_alive)) {}

  const config::VisionConfig& config() const { return config_; }
  const VisionWeights& weights() const { return weights_; }
  // Where the weights live, with the tables computed at load and for new grids (kept_bytes, device_bytes).
  const WeightStore<Backend, T>& store() const { return *store_; }
  // Parameters counted from the tensors actually loaded (compare with config().parameter_count()).
  std::int64_t parameter_count() const { return parameter_count_; }
  void set_parameter_count(std::int64_t n) { parameter_count_ = n; }

  // Index in [0, L] of hidden state k (negative k counts from the end); an error if out of range.
  int resolve_layer(int k) const {
    const int layers = config_.num_hidden_layers;
    const int resolved = k < 0 ? k + layers + 1 : k;
    INTERNVL_CHECK(resolved >= 0 && resolved <= layers, "InternViT", "hidden state ", k,
                   " does not exist: the model has ", layers, " blocks, so states 0..", layers, " (or -",
                   layers + 1, "..-1)");
    return resolved;
  }

  // Runs pixels [B, C, H, W] and calls tap(k, hidden [B, S, D]) for each requested hidden state k
  // (resolved to 0..L) as soon as it is computed. `hidden` lives in the context's workspace and is
  // valid during the call only.
  template <class Tap>
  void forward(Context<Backend>& ctx, CView<T, 4> pixels, std::span<const int> hidden_states, Tap&& tap) {
    std::vector<int> wanted;
    for (int k : hidden_states) {
      wanted.push_back(resolve_layer(k));
    }
    INTERNVL_CHECK(!wanted.empty(), "InternViT", "no hidden state requested");
    const int deepest = *std::max_element(wanted.begin(), wanted.end());
    const auto is_wanted = [&](int k) { return std::find(wanted.begin(), wanted.end(), k) != wanted.end(); };

    const index_t p = config_.patch_size, d = config_.hidden_size;
    INTERNVL_CHECK(pixels.size(0) > 0, "InternViT", "the batch of pixels holds no image");
    INTERNVL_CHECK(pixels.size(1) == config_.num_channels, "InternViT", "pixels have ", pixels.size(1),
                   " channels, the model expects ", config_.num_channels);
    INTERNVL_CHECK(pixels.size(2) % p == 0 && pixels.size(3) % p == 0 && pixels.size(2) > 0 && pixels.size(3) > 0,
                   "InternViT", "image of ", pixels.size(2), "x", pixels.size(3), " pixels: both sides must be ",
                   "positive multiples of the patch size ", p);
    const index_t batch = pixels.size(0), grid_h = pixels.size(2) / p, grid_w = pixels.size(3) / p;
    const index_t patches = grid_h * grid_w, tokens = 1 + patches;

    auto& ws = ctx.workspace();
    auto scope = ws.scope();
    View<T, 3> x = ws.template tensor<T>(Extents<3>{batch, tokens, d});              // [B, S, D]
    {  // embeddings: patch conv as patchify + linear, then class token and positions
      auto inner = ws.scope();
      const index_t patch_len = config_.num_channels * p * p;
      View<T, 3> patch_pixels = ws.template tensor<T>(Extents<3>{batch, patches, patch_len});  // [B, N, C·P·P]
      ops::patchify(ctx, patch_pixels, pixels, p);
      View<T, 3> patch_tokens = ws.template tensor<T>(Extents<3>{batch, patches, d});          // [B, N, D]
      ops::linear(ctx, patch_tokens.reshape(Extents<2>{batch * patches, d}),
                  CView<T, 3>(patch_pixels).reshape(Extents<2>{batch * patches, patch_len}), weights_.patch_weight,
                  weights_.patch_bias);
      ops::assemble_tokens(ctx, x, CView<T, 3>(patch_tokens), weights_.class_embedding, positions(grid_h, grid_w));
    }
    if (is_wanted(0)) {
      tap(0, CView<T, 3>(x));
    }
    View<T, 2> rows = x.reshape(Extents<2>{batch * tokens, d});                       // [B·S, D]
    for (int layer = 1; layer <= deepest; ++layer) {
      layers::vision_block(ctx, config_, weights_.layers[static_cast<std::size_t>(layer - 1)], rows, batch);
      if (is_wanted(layer)) {
        tap(layer, CView<T, 3>(x));
      }
    }
  }

  // How many resized position tables the encoder keeps (InternViT-6B: 16.6 MB in f32 for a 504 × 504 image,
  // 0.46 MB more per 14 pixels of a longer side).
  static constexpr std::size_t kResizedPositionTables = 4;
  // The grids whose resized position tables are kept now, least recently used first.
  std::vector<std::pair<index_t, index_t>> kept_position_grids() const {
    std::vector<std::pair<index_t, index_t>> grids;
    for (const ResizedPositions& r : resized_positions_) {
      grids.push_back(r.grid);
    }
    return grids;
  }

 private:
  struct ResizedPositions {
    std::pair<index_t, index_t> grid;
    CView<float, 2> table;
  };

  // The position table for a gh×gw grid: the stored one, or one resized for that grid, kept among the
  // last kResizedPositionTables grids' (the least recently used released first: the forward pass that
  // read it has run; on CUDA, the release waits for it).
  CView<float, 2> positions(index_t grid_h, index_t grid_w) {
    const index_t native = config_.grid();
    if (grid_h == native && grid_w == native) {
      return weights_.position_embedding;
    }
    const auto grid = std::pair{grid_h, grid_w};
    auto found = std::find_if(resized_positions_.begin(), resized_positions_.end(),
                              [&](const ResizedPositions& r) { return r.grid == grid; });
    if (found == resized_positions_.end()) {
      if (resized_positions_.size() == kResizedPositionTables) {
        store_->release(resized_positions_.front().table);
        resized_positions_.erase(resized_positions_.begin());
      }
      resized_positions_.push_back(
          {grid, store_->keep(resize_position_embedding(native_positions_.view(), grid_h, grid_w))});
    } else {
      std::rotate(found, found + 1, resized_positions_.end());  // now the most recently used
    }
    return resized_positions_.back().table;
  }

  config::VisionConfig config_;
  VisionWeights weights_;
  Tensor<float, 2> native_positions_;  // host f32 copy of the stored table, the source of resizes
  std::shared_ptr<WeightStore<Backend, T>> store_;
  std::shared_ptr<const void> keep_alive_;
  std::vector<ResizedPositions> resized_positions_;  // least recently used first
  std::int64_t parameter_count_ = 0;
};

// An encoder whose shape is the compiled Preset (statically checked; config.json must agree), or
// any InternViT-family shape with presets::Dynamic.
template <class Preset, class Backend, class T = default_activation_t<Backend>>
class InternViT : public VisionEncoder<Backend, T> {
 public:
  using preset_type = Preset;
  static constexpr bool is_compiled = !presets::is_dynamic_v<Preset>;

  explicit InternViT(VisionEncoder<Backend, T>&& encoder) : VisionEncoder<Backend, T>(std::move(encoder)) {
    if constexpr (is_compiled) {
      static_assert(config::invalid_field(Preset::value).empty(), "internvl: the preset's config is invalid");
    }
  }
};

}  // namespace internvl::models
