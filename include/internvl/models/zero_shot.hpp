// Zero-shot classification with InternVL-C/G embeddings (facts §3.2; retrieval is retrieval.hpp's):
//   class weights    w_c = exp(logit_scale) · normalise( mean_t normalise( text(template_t(c)) ) )
//   probabilities    softmax_c( image_embedding · w_c )   (the model's logits_per_image, softmaxed)
// A template holds "{c}" where the class name goes ("a photo of a {c}."); the tokenizer adds QLLaMA's
// "summarize:" prefix. Text embeddings do not depend on the mode (C and G share the text path), so
// one classifier serves both. Needs the tokenizer (libsentencepiece).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "internvl/backend/transfer.hpp"
#include "internvl/models/internvl.hpp"
#include "internvl/models/retrieval.hpp"
#include "internvl/ops/softmax.hpp"
#include "internvl/text/tokenizer.hpp"

namespace internvl::models {

// A template without "{c}" is an error naming `where` (the caller's name, or a file and line).
inline void check_template(const std::string& t, const std::string& where) {
  INTERNVL_CHECK(t.find("{c}") != std::string::npos, where, "template \"", t,
                 "\" has no {c} where the class name goes");
}

// A class name in every template: "a photo of a {c}." -> "a photo of a tench.".
inline std::vector<std::string> fill_templates(const std::vector<std::string>& templates,
                                               const std::string& classname) {
  std::vector<std::string> texts;
  for (const std::string& t : templates) {
    check_template(t, "models::fill_templates");
    std::string text = t;
    for (std::size_t pos = text.find("{c}"); pos != std::string::npos;
         pos = text.find("{c}", pos + classname.size())) {
      text.replace(pos, 3, classname);
    }
    texts.push_back(std::move(text));
  }
  return texts;
}

template <class Backend, class T = default_activation_t<Backend>>
class ZeroShotClassifier {
 public:
  // Encodes every template of every class with the model's text path, whole classes at a time and
  // about `texts_per_pass` texts per pass (each pass reads all of QLLaMA's weights once).
  ZeroShotClassifier(Context<Backend>& ctx, const InternVLModel<Backend, T>& model, const text::Tokenizer& tokenizer,
                     std::vector<std::string> classnames, const std::vector<std::string>& templates,
                     index_t texts_per_pass = 64)
      : classnames_(std::move(classnames)) {
    INTERNVL_CHECK(!classnames_.empty(), "models::ZeroShotClassifier", "no class names given");
    INTERNVL_CHECK(!templates.empty(), "models::ZeroShotClassifier", "no templates given");
    const auto classes = static_cast<index_t>(classnames_.size()), width = model.embedding_width();
    const auto count = static_cast<index_t>(templates.size());
    const index_t classes_per_pass = std::max<index_t>(1, texts_per_pass / count);
    Tensor<float, 2> weights(Extents<2>{classes, width});  // gathered on the host, then kept as a matrix
    text::TextFormat format;
    format.padding = text::Padding::longest;  // the same embeddings as padding to 80 (causal mask)
    for (index_t first = 0; first < classes; first += classes_per_pass) {
      const index_t last = std::min(classes, first + classes_per_pass);
      std::vector<std::string> texts;  // class-major: the templates of class `first`, then the next class's
      for (index_t c = first; c < last; ++c) {
        for (std::string& t : fill_templates(templates, classnames_[static_cast<std::size_t>(c)])) {
          texts.push_back(std::move(t));
        }
      }
      const text::TokenizedBatch batch = tokenizer.format(texts, format);
      auto& ws = ctx.workspace();
      auto scope = ws.scope();
      View<T, 2> embeddings = ws.template tensor<T>(Extents<2>{(last - first) * count, width});  // normalised
      model.text_embeddings(ctx, embeddings, batch.ids.view());
      View<T, 2> rows = ws.template tensor<T>(Extents<2>{last - first, width});  // [classes, E]
      ops::mean_tokens(ctx, rows, CView<T, 3>(embeddings.reshape(Extents<3>{last - first, count, width})), 0, count);
      model.normalize(ctx, rows, CView<T, 2>(rows), /*logit_scaled=*/true);
      const Tensor<float, 2> host = to_host(ctx, CView<T, 2>(rows));
      std::copy_n(host.data(), host.numel(), weights.data() + first * width);
    }
    keep(std::move(weights));
  }

  // The classifier from class weights computed before for the same model and classes (host_weights() of
  // an earlier classifier, saved and read back): [C, E], one row per class name. Encodes nothing. Each row
  // must have the length exp(logit_scale) (within 1e-3), as this model's classifier makes them: a zero,
  // non-finite or otherwise scaled row would give wrong probabilities silently.
  ZeroShotClassifier(const InternVLModel<Backend, T>& model, std::vector<std::string> classnames,
                     Tensor<float, 2> weights)
      : classnames_(std::move(classnames)) {
    const auto classes = static_cast<index_t>(classnames_.size()), width = model.embedding_width();
    INTERNVL_CHECK(weights.size(0) == classes && weights.size(1) == width, "models::ZeroShotClassifier",
                   "class weights [", weights.size(0), ", ", weights.size(1), "] do not fit ", classes,
                   " classes of a model with ", width, "-wide embeddings");
    for (index_t c = 0; c < classes; ++c) {
      double squares = 0.0;
      for (index_t e = 0; e < width; ++e) {
        squares += static_cast<double>(weights(c, e)) * weights(c, e);
      }
      INTERNVL_CHECK(std::abs(std::sqrt(squares) / model.logit_scale() - 1.0) <= 1e-3, "models::ZeroShotClassifier",
                     "class weights row ", c, " has length ", std::sqrt(squares),
                     ", not exp(logit_scale) = ", model.logit_scale(), ": not this model's class weights");
    }
    keep(std::move(weights));
  }

  const std::vector<std::string>& classnames() const { return classnames_; }
  // The class weights [C, E]: exp(logit_scale) times unit vectors, in the backend's memory.
  const WeightView<2>& weights() const { return weights_; }
  // The same in f32 on the host, as computed (to save them, and build a classifier from them later).
  const Tensor<float, 2>& host_weights() const { return host_weights_; }

  // logits [B, C] = exp(logit_scale) · cosine similarities of image embeddings [B, E] (normalised).
  void logits(Context<Backend>& ctx, View<T, 2> out, CView<T, 2> image_embeddings) const {
    ops::linear(ctx, out, image_embeddings, weights_);
  }

  // probabilities [B, C]: the softmax of the logits over the classes.
  void probabilities(Context<Backend>& ctx, View<T, 2> out, CView<T, 2> image_embeddings) const {
    logits(ctx, out, image_embeddings);
    ops::softmax(ctx, out, CView<T, 2>(out));
  }

 private:
  void keep(Tensor<float, 2> weights) {
    host_weights_ = Tensor<float, 2>(weights.shape());
    std::copy_n(weights.data(), weights.numel(), host_weights_.data());
    weights_ = store_.keep_matrix(std::move(weights));
  }

  std::vector<std::string> classnames_;
  Tensor<float, 2> host_weights_;  // [C, E]
  WeightStore<Backend, T> store_;  // owns the class weights
  WeightView<2> weights_;          // [C, E]
};

}  // namespace internvl::models
