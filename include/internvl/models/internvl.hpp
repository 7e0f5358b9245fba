// InternVL-C and InternVL-G (facts §3.2): image and text embeddings in one E-dimensional space.
//   InternVL-C image  c = clip_projector(InternViT tokens)            attention pooling, all 1+N tokens
//   InternVL-G image  c/‖c‖ + g/‖g‖,  g = clip_projector2(QLLaMA's query outputs for the image)
//   text (C and G)    t = h_eos · P    h_eos = QLLaMA's text hidden state at the last real token
//                                      (index: number of ids > 0, minus 1), P = text_projection [D, E]
//   video             v = mean of its F frames' image features (C or G), as the official video retrieval
//                                      (video_retrieval/test_msrvtt.py) averages encode_image over the frames
// *_features return these as the official encode_image / encode_text do; *_embeddings return them
// L2-normalised, ready for cosine similarities (models/zero_shot.hpp). Images are [B, 3, S, S]
// normalised pixels (io/preprocess.hpp), texts are QLLaMA token ids [T, L], right-padded with 0
// (text/tokenizer.hpp). InternVL<Preset, Backend> is a compiled preset (config/internvl_presets.hpp)
// or presets::Dynamic; both share InternVLModel, the one implementation.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <utility>
#include <vector>

#include "internvl/config/internvl_presets.hpp"
#include "internvl/layers/attention_pooling.hpp"
#include "internvl/layers/l2_normalize.hpp"
#include "internvl/models/intern_vit.hpp"
#include "internvl/models/internvl_weights.hpp"
#include "internvl/models/qllama.hpp"
#include "internvl/ops/mean_tokens.hpp"

namespace internvl::models {

enum class EmbeddingMode {
  C,  // InternVL-C: the vision encoder's tokens, attention-pooled
  G,  // InternVL-G: InternVL-C's embedding plus the pooled outputs of QLLaMA's queries
};

template <class Backend, class T = default_activation_t<Backend>>
class InternVLModel {
 public:
  using backend_type = Backend;
  using value_type = T;

  // `store` owns the heads' f32 tables, `keep_alive` whatever the weight views point into (the mapping).
  InternVLModel(const config::InternVLConfig& config, VisionEncoder<Backend, T> vision, QLlama<Backend, T> qllama,
                InternVLHeadWeights heads, std::shared_ptr<WeightStore<Backend, T>> store,
                std::filesystem::path directory, std::shared_ptr<const void> keep_alive)
      : config_(config),
        vision_(std::move(vision)),
        qllama_(std::move(qllama)),
        heads_(std::move(heads)),
        store_(std::move(store)),
        unit_scale_(store_->keep(layers::l2_scale_vector(config.clip_embed_dim))),
        logit_scale_(
            store_->keep(layers::l2_scale_vector(config.clip_embed_dim, std::exp(double{heads_.logit_scale})))),
        directory_(std::move(directory)),
        keep_alive_(std::move(keep_alive)) {}

  const config::InternVLConfig& config() const { return config_; }
  VisionEncoder<Backend, T>& vision() { return vision_; }
  const QLlama<Backend, T>& qllama() const { return qllama_; }
  const InternVLHeadWeights& heads() const { return heads_; }
  index_t embedding_width() const { return config_.clip_embed_dim; }
  // exp(logit_scale): the factor of the model's image-text logits.
  double logit_scale() const { return std::exp(static_cast<double>(heads_.logit_scale)); }
  // The directory the model was loaded from, and its SentencePiece model (text/tokenizer.hpp reads it).
  const std::filesystem::path& directory() const { return directory_; }
  std::filesystem::path tokenizer_path() const { return directory_ / "tokenizer.model"; }
  // Parameters counted from the tensors actually loaded (compare with config().parameter_count()).
  std::int64_t parameter_count() const { return parameter_count_; }
  void set_parameter_count(std::int64_t n) { parameter_count_ = n; }

  // Runs InternViT on pixels [B, 3, S, S] and calls fn(tokens [B, 1 + N, Dv]) with its last hidden state.
  template <class Fn>
  void vision_tokens(Context<Backend>& ctx, CView<T, 4> pixels, Fn&& fn) {
    const int last[] = {-1};
    vision_.forward(ctx, pixels, last, [&](int, CView<T, 3> tokens) { fn(tokens); });
  }

  // InternVL-C's image feature from InternViT tokens [B, 1 + N, Dv]: out [B, E].
  void pool_vision_tokens(Context<Backend>& ctx, View<T, 2> out, CView<T, 3> tokens) const {
    layers::attention_pooling(ctx, heads_.clip_projector, config_.attn_pool_num_heads, out, tokens);
  }

  // InternVL-G's second image feature from QLLaMA's query outputs [B, Q, D]: out [B, E].
  void pool_query_outputs(Context<Backend>& ctx, View<T, 2> out, CView<T, 3> queries) const {
    layers::attention_pooling(ctx, heads_.clip_projector2, config_.attn_pool_num_heads, out, queries);
  }

  // The official encode_image: out [B, E] (C: c; G: c/‖c‖ + g/‖g‖).
  void image_features(Context<Backend>& ctx, View<T, 2> out, CView<T, 4> pixels, EmbeddingMode mode) {
    check_output("image features", out, pixels.size(0));
    vision_tokens(ctx, pixels, [&](CView<T, 3> tokens) {
      pool_vision_tokens(ctx, out, tokens);
      if (mode == EmbeddingMode::G) {
        auto& ws = ctx.workspace();
        auto scope = ws.scope();
        const auto& q = qllama_.config();
        View<T, 3> queries = ws.template tensor<T>(Extents<3>{tokens.size(0), q.num_query_token, q.hidden_size});
        qllama_.encode_queries(ctx, queries, tokens);
        View<T, 2> g = ws.template tensor<T>(out.shape());
        pool_query_outputs(ctx, g, CView<T, 3>(queries));
        normalize(ctx, out, CView<T, 2>(out));
        normalize(ctx, g, CView<T, 2>(g));
        ops::add(ctx, out, CView<T, 2>(out), CView<T, 2>(g));
      }
    });
  }

  // The official encode_text: out [T, E] from token ids [T, L] (each row holds at least one id > 0).
  // Columns after the longest text are not run: under the causal mask they cannot change h_eos.
  void text_features(Context<Backend>& ctx, View<T, 2> out, CView<std::int32_t, 2> ids) const {
    const index_t texts = ids.size(0), d = qllama_.config().hidden_size;
    check_output("text features", out, texts);
    std::vector<std::int32_t> eos_rows;  // row of h_eos in the [T·L', D] hidden states
    index_t longest = 0;
    for (index_t t = 0; t < texts; ++t) {
      index_t real = 0;
      for (index_t s = 0; s < ids.size(1); ++s) {
        real += ids(t, s) > 0 ? 1 : 0;
      }
      INTERNVL_CHECK(real > 0, "InternVL", "text ", t, " has no token id > 0 (nothing but padding)");
      longest = std::max(longest, real);
      eos_rows.push_back(static_cast<std::int32_t>(real - 1));
    }
    for (index_t t = 0; t < texts; ++t) {
      eos_rows[static_cast<std::size_t>(t)] += static_cast<std::int32_t>(t * longest);
    }
    auto& ws = ctx.workspace();
    auto scope = ws.scope();
    View<T, 3> hidden = ws.template tensor<T>(Extents<3>{texts, longest, d});  // [T, L', D]
    qllama_.encode_text(ctx, hidden, ids.slice(1, 0, longest));
    View<T, 2> eos = ws.template tensor<T>(Extents<2>{texts, d});  // [T, D]
    ops::embedding(ctx, eos, CView<std::int32_t, 1>(eos_rows.data(), Extents<1>{texts}),
                   WeightView<2>(CView<T, 3>(hidden).reshape(Extents<2>{texts * longest, d})));
    ops::linear(ctx, out, CView<T, 2>(eos), heads_.text_projection);  // h_eos · P
  }

  // y = x/‖x‖ row by row [R, E], or exp(logit_scale)·x/‖x‖ (zero-shot class weights give logits that way).
  void normalize(Context<Backend>& ctx, View<T, 2> y, CView<T, 2> x, bool logit_scaled = false) const {
    layers::l2_normalize(ctx, y, x, logit_scaled ? logit_scale_ : unit_scale_);
  }

  // L2-normalised image embeddings [B, E].
  void image_embeddings(Context<Backend>& ctx, View<T, 2> out, CView<T, 4> pixels, EmbeddingMode mode) {
    image_features(ctx, out, pixels, mode);
    normalize(ctx, out, CView<T, 2>(out));
  }

  // L2-normalised video embeddings [V, E]: each the mean of its frames' image features, normalised after
  // the mean. frames [V·F, 3, S, S] holds video v's F frames at rows v·F to v·F + F − 1.
  void video_embeddings(Context<Backend>& ctx, View<T, 2> out, CView<T, 4> frames, index_t frames_per_video,
                        EmbeddingMode mode) {
    INTERNVL_CHECK(frames_per_video > 0 && frames.size(0) % frames_per_video == 0, "InternVL",
                   "video embeddings: ", frames.size(0), " frames are not a whole number of videos of ",
                   frames_per_video, " frames");
    const index_t videos = frames.size(0) / frames_per_video;
    check_output("video embeddings", out, videos);
    auto& ws = ctx.workspace();
    auto scope = ws.scope();
    View<T, 2> features = ws.template tensor<T>(Extents<2>{frames.size(0), config_.clip_embed_dim});
    image_features(ctx, features, frames, mode);
    ops::mean_tokens(ctx, out, CView<T, 2>(features).reshape(Extents<3>{videos, frames_per_video, features.size(1)}), 0,
                     frames_per_video);
    normalize(ctx, out, CView<T, 2>(out));
  }

  // L2-normalised text embeddings [T, E].
  void text_embeddings(Context<Backend>& ctx, View<T, 2> out, CView<std::int32_t, 2> ids) const {
    text_features(ctx, out, ids);
    normalize(ctx, out, CView<T, 2>(out));
  }

 private:
  void check_output(const char* what, const View<T, 2>& out, index_t rows) const {
    const Extents<2> expected{rows, config_.clip_embed_dim};
    INTERNVL_CHECK(out.shape() == expected, "InternVL", what, " have shape ", shape_string(out), ", expected ",
                   shape_string(expected));
  }

  config::InternVLConfig config_;
  VisionEncoder<Backend, T> vision_;
  QLlama<Backend, T> qllama_;
  InternVLHeadWeights heads_;
  std::shared_ptr<WeightStore<Backend, T>> store_;
  CView<float, 1> unit_scale_;   // [E] the weight of l2_normalize for the scale 1
  CView<float, 1> logit_scale_;  // [E] ... for the scale exp(logit_scale)
  std::filesystem::path directory_;
  std::shared_ptr<const void> keep_alive_;
  std::int64_t parameter_count_ = 0;
};

// A model whose shape is the compiled Preset (config.json must agree), or any InternVL-family shape
// with presets::Dynamic.
template <class Preset, class Backend, class T = default_activation_t<Backend>>
class InternVL : public InternVLModel<Backend, T> {
 public:
  using preset_type = Preset;
  static constexpr bool is_compiled = !presets::is_dynamic_v<Preset>;

  explicit InternVL(InternVLModel<Backend, T>&& model) : InternVLModel<Backend, T>(std::move(model)) {
    if constexpr (is_compiled) {
      static_assert(config::invalid_field(Preset::value).empty(), "internvl: the preset's config is invalid");
    }
  }
};

}  // namespace internvl::models
