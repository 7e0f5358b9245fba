// The backend-generic part of the zero_shot, embed and caption examples: an InternVL-C/G model directory loaded
// on a backend (its activation type: f32 on the host, bf16 on CUDA) and run on host inputs in the
// caller's context (on the cpu backend at the --precision that support/backend.hpp set there), results
// returned as host f32. Free of Boost.Hana: the callers parse config.json, so the CUDA path
// (tasks_cuda.cu) compiles this with nvcc while zero_shot.cpp and embed.cpp keep the host-only parts. The
// host backends' instantiations are compiled once, in tasks_host.cpp, for every example program.
//   embed      L2-normalised image embeddings [B, E] of each batch of images (support/batches.hpp), or with
//              job.frames_per_video F video embeddings [B / F, E] (each batch whole videos), and text
//              embeddings [T, E] of the texts, job.batch texts per forward pass
//   zero_shot  the class weights of the labels (texts) under the templates, computed once (or given, as saved
//              from a run) and handed to job.class_weights_sink, then the image embeddings [B, E] of each batch
//              of images (support/batches.hpp), which the caller scores against them on the host in f32 (on
//              CUDA the bf16 logits would tie far more often than the official evaluation's fp16 ones)
//   caption    InternVL-G's caption of each image (models/captioning.hpp) for each batch of images: the
//              text (decoded, surrounding spaces removed, as evaluate_caption.py does), tokens and score
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "internvl/backend/transfer.hpp"
#include "internvl/models/captioning.hpp"
#include "internvl/models/internvl_loader.hpp"
#include "internvl/models/zero_shot.hpp"
#include "internvl/text/utf8.hpp"
#include "support/batches.hpp"
#include "support/stage_report.hpp"

namespace internvl::examples {

struct InternVLJob {
  std::shared_ptr<const io::ModelDir> dir;
  config::InternVLConfig config;  // parsed from dir's config.json by the caller
  models::EmbeddingMode mode = models::EmbeddingMode::C;
  std::vector<std::string> texts;      // embed: the texts; zero_shot: the labels
  std::vector<std::string> templates;  // zero_shot: one or more templates with "{c}"
  CView<float, 2> class_weights;       // zero_shot: [C, E] computed before (host); empty: encode the labels
  std::function<void(CView<float, 2>)> class_weights_sink;  // zero_shot: receives the class weights [C, E] used
  index_t batch = 16;                  // embed: texts per forward pass
  index_t frames_per_video = 0;        // embed: 0 for image embeddings, else the frames of each video
  std::string prompt;                  // caption: the text every caption continues
  models::BeamSearchOptions search;    // caption
  StageReport* report = nullptr;       // stage times and memory, when given
};

struct Caption {
  std::string text;
  std::vector<std::int32_t> tokens;
  double score = 0.0;
};
using CaptionSink = std::function<void(const std::vector<Caption>&)>;

struct Embeddings {
  Tensor<float, 2> images;  // [B, E], empty without images
  Tensor<float, 2> texts;   // [T, E], empty without texts
};

namespace detail {

template <class Backend, class T = default_activation_t<Backend>>
models::InternVLModel<Backend, T> load_for(const InternVLJob& job) {
  const std::string_view preset =
      config::visit_internvl_preset(job.config, [&]<class Preset>() { return std::string_view(Preset::name); });
  models::InternVLModel<Backend, T> model = models::load_internvl_model<Backend, T>(job.dir, job.config);
  if (job.report != nullptr) {
    job.report->stage("load");
    job.report->note("model: %.*s (%s), backend %.*s", static_cast<int>(preset.size()), preset.data(),
                     preset == presets::Dynamic::name ? "no compiled preset matches config.json" : "compiled preset",
                     static_cast<int>(Backend::name.size()), Backend::name.data());
    job.report->note("parameters: %lld counted from the tensors, %lld from config.json",
                     static_cast<long long>(model.parameter_count()),
                     static_cast<long long>(job.config.parameter_count()));
  }
  return model;
}

inline void end_stage(const InternVLJob& job, const char* name) {
  if (job.report != nullptr) {
    job.report->stage(name);
  }
}

inline const char* image_stage(models::EmbeddingMode mode) {
  return mode == models::EmbeddingMode::C ? "images (InternVL-C)" : "images (InternVL-G)";
}

// Rows [0, count) of an embedding matrix [count, width], computed `per_pass` rows at a time by
// embed_rows(out, first, last) into a backend tensor [last - first, width] in a workspace scope of its own.
template <class T, class Backend, class EmbedRows>
Tensor<float, 2> embed_in_passes(Context<Backend>& ctx, index_t count, index_t width, index_t per_pass,
                                 EmbedRows embed_rows) {
  Tensor<float, 2> result(Extents<2>{count, width});
  for (index_t first = 0; first < count; first += per_pass) {
    const index_t last = std::min(count, first + per_pass);
    auto scope = ctx.workspace().scope();
    View<T, 2> out = ctx.workspace().template tensor<T>(Extents<2>{last - first, width});
    embed_rows(out, first, last);
    const Tensor<float, 2> rows = to_host(ctx, CView<T, 2>(out));
    std::copy_n(rows.data(), rows.numel(), result.data() + first * width);
  }
  return result;
}

}  // namespace detail

// Images go through the model a batch of `images` at a time (none if it is empty), texts job.batch at a
// time, so memory holds one pass's activations however many there are; each embedding depends on its
// own input only (with job.frames_per_video, a batch holds whole videos: its rows are their frames).
template <class Backend>
Embeddings embed(Context<Backend>& ctx, const InternVLJob& job, const PixelBatches& images) {
  using T = default_activation_t<Backend>;
  auto model = detail::load_for<Backend>(job);
  const index_t width = model.embedding_width();
  const index_t frames = job.frames_per_video;
  Embeddings result;
  if (images) {
    std::vector<float> rows;  // [B, E] (or [B / F, E]), a batch's rows at a time
    while (const std::optional<CView<float, 4>> pixels = images()) {
      auto scope = ctx.workspace().scope();
      const index_t count = frames > 0 ? pixels->size(0) / frames : pixels->size(0);
      View<T, 2> out = ctx.workspace().template tensor<T>(Extents<2>{count, width});
      if (frames > 0) {
        model.video_embeddings(ctx, out, to_backend<T>(ctx, *pixels), frames, job.mode);
      } else {
        model.image_embeddings(ctx, out, to_backend<T>(ctx, *pixels), job.mode);
      }
      const Tensor<float, 2> host = to_host(ctx, CView<T, 2>(out));
      rows.insert(rows.end(), host.data(), host.data() + host.numel());
    }
    result.images = Tensor<float, 2>(Extents<2>{static_cast<index_t>(rows.size()) / width, width});
    std::copy(rows.begin(), rows.end(), result.images.data());
    detail::end_stage(job, frames > 0 ? "videos" : detail::image_stage(job.mode));
  }
  if (!job.texts.empty()) {
    const text::Tokenizer tokenizer(model.tokenizer_path().string());
    const auto texts = static_cast<index_t>(job.texts.size());
    result.texts =
        detail::embed_in_passes<T>(ctx, texts, width, job.batch, [&](View<T, 2> out, index_t first, index_t last) {
          const text::TokenizedBatch batch = tokenizer.format(
              std::span(job.texts).subspan(static_cast<std::size_t>(first), static_cast<std::size_t>(last - first)));
          model.text_embeddings(ctx, out, batch.ids.view());
        });
    detail::end_stage(job, "texts");
  }
  return result;
}

// The class weights once, into job.class_weights_sink, then the image embeddings [B, E] of each batch of
// `batches` into `sink`.
template <class Backend>
void zero_shot(Context<Backend>& ctx, const InternVLJob& job, const PixelBatches& batches,
               const ImageEmbeddingSink& sink) {
  using T = default_activation_t<Backend>;
  auto model = detail::load_for<Backend>(job);
  const models::ZeroShotClassifier<Backend, T> classifier = [&] {
    if (job.class_weights.data() != nullptr) {
      Tensor<float, 2> weights(job.class_weights.shape());
      std::copy_n(job.class_weights.data(), weights.numel(), weights.data());
      return models::ZeroShotClassifier<Backend, T>(model, job.texts, std::move(weights));
    }
    const text::Tokenizer tokenizer(model.tokenizer_path().string());
    return models::ZeroShotClassifier<Backend, T>(ctx, model, tokenizer, job.texts, job.templates);
  }();
  if (job.class_weights_sink) {
    job.class_weights_sink(classifier.host_weights().view());
  }
  detail::end_stage(job, "class weights");
  while (const std::optional<CView<float, 4>> pixels = batches()) {
    auto scope = ctx.workspace().scope();
    View<T, 2> embeddings = ctx.workspace().template tensor<T>(Extents<2>{pixels->size(0), model.embedding_width()});
    model.image_embeddings(ctx, embeddings, to_backend<T>(ctx, *pixels), job.mode);
    const Tensor<float, 2> host = to_host(ctx, CView<T, 2>(embeddings));
    sink(host.view());
  }
  detail::end_stage(job, detail::image_stage(job.mode));
}

// The captions of each batch of `batches` into `sink`.
template <class Backend>
void caption(Context<Backend>& ctx, const InternVLJob& job, const PixelBatches& batches, const CaptionSink& sink) {
  using T = default_activation_t<Backend>;
  auto model = detail::load_for<Backend>(job);
  const text::Tokenizer tokenizer(model.tokenizer_path().string());
  const std::vector<std::int32_t> prompt = tokenizer.format(job.prompt, text::TextFormat::captioning()).ids;
  while (const std::optional<CView<float, 4>> pixels = batches()) {
    auto scope = ctx.workspace().scope();
    std::vector<Caption> captions;
    for (models::Hypothesis& best : models::caption(ctx, model, to_backend<T>(ctx, *pixels), prompt, job.search)) {
      // evaluate_caption.py: tokenizer.decode(tokens, skip_special_tokens=True).strip()
      std::string text(text::strip_whitespace(tokenizer.decode(best.tokens, text::SpecialTokens::skip)));
      captions.push_back({std::move(text), std::move(best.tokens), best.score});
    }
    sink(captions);
  }
  detail::end_stage(job, "captions");
}

extern template Embeddings embed(Context<backend::reference>&, const InternVLJob&, const PixelBatches&);
extern template Embeddings embed(Context<backend::cpu>&, const InternVLJob&, const PixelBatches&);
extern template void zero_shot(Context<backend::reference>&, const InternVLJob&, const PixelBatches&,
                               const ImageEmbeddingSink&);
extern template void zero_shot(Context<backend::cpu>&, const InternVLJob&, const PixelBatches&,
                               const ImageEmbeddingSink&);
extern template void caption(Context<backend::reference>&, const InternVLJob&, const PixelBatches&, const CaptionSink&);
extern template void caption(Context<backend::cpu>&, const InternVLJob&, const PixelBatches&, const CaptionSink&);

// embed, zero_shot and caption on a Context<backend::cuda> of GPU 0, run by the CUDA tasks module
// (tasks_cuda.cu, built when CUDA is enabled), which cuda_tasks.cpp loads on the first call.
Embeddings embed_cuda(const InternVLJob& job, const PixelBatches& images);
void zero_shot_cuda(const InternVLJob& job, const PixelBatches& batches, const ImageEmbeddingSink& sink);
void caption_cuda(const InternVLJob& job, const PixelBatches& batches, const CaptionSink& sink);

}  // namespace internvl::examples
