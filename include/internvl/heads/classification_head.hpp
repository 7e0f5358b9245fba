// ClassificationHead: a probe head file (linear_probe or attention_pool_probe) bound to an InternViT
// backbone, and the classification forward pass:
//   logits = probe( X ),  X = hidden state b + 1 of the backbone (b = the file's "layer", default the
//   last block) for pixels [B, 3, S, S] preprocessed as in facts §4.1 (io/preprocess.hpp);
//   probabilities = softmax(logits) over the K classes.
// The probe runs inside the backbone's forward as soon as block b is done (later blocks are skipped).
// T is the backbone's activation type; the probe computes in f32 whatever T is (head_features.hpp), so
// its logits are f32 on every backend.
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "internvl/backend/transfer.hpp"
#include "internvl/heads/attention_pool_probe.hpp"
#include "internvl/heads/head_features.hpp"
#include "internvl/heads/linear_probe.hpp"
#include "internvl/heads/top_k.hpp"
#include "internvl/models/intern_vit.hpp"
#include "internvl/ops/softmax.hpp"

namespace internvl::heads {

template <class Backend, class T = default_activation_t<Backend>>
class ClassificationHead {
 public:
  // Loads the head file at `path` for a backbone with this config; the head's width, layer and
  // tensors are checked against it (errors name the file and the tensor).
  ClassificationHead(const std::string& path, const config::VisionConfig& backbone)
      : store_(std::make_shared<models::WeightStore<Backend, float>>()) {
    const HeadFile file(path);
    const HeadDescription& d = file.description();
    INTERNVL_CHECK(d.type == HeadType::linear_probe || d.type == HeadType::attention_pool_probe, path, "a ",
                   name_of(d.type), " head is a segmentation head, not a classification head");
    block_ = d.layers.empty() ? backbone.num_hidden_layers - 1 : d.layers.front();
    INTERNVL_CHECK(block_ < backbone.num_hidden_layers, path, "the head reads block ", block_,
                   " but the backbone has only ", backbone.num_hidden_layers, " blocks (0..",
                   backbone.num_hidden_layers - 1, ")");
    HeadReader<Backend, float> r(file, *store_);
    if (d.type == HeadType::linear_probe) {
      weights_ = read_linear_probe(r, backbone.hidden_size);
    } else {
      weights_ = read_attention_pool_probe(r, backbone.hidden_size);
    }
    file.refuse_unexpected();
    description_ = d;
    keep_alive_ = file.keep_alive();
  }

  const HeadDescription& description() const { return description_; }
  index_t num_classes() const { return description_.num_classes; }
  // The 0-based block whose output the probe reads.
  int block() const { return block_; }

  // logits [B, K] for pixels [B, 3, S, S] in the backend's memory.
  void logits(Context<Backend>& ctx, models::VisionEncoder<Backend, T>& model, CView<T, 4> pixels,
              View<float, 2> logits) const {
    const int state[] = {block_ + 1};
    model.forward(ctx, pixels, state, [&](int, CView<T, 3> tokens) {
      auto scope = ctx.workspace().scope();
      const CView<float, 3> features = head_features(ctx, tokens);
      std::visit([&](const auto& w) { run(ctx, w, logits, features); }, weights_);
    });
  }

  // Class probabilities [B, K] on the host for host pixels [B, 3, S, S].
  Tensor<float, 2> probabilities(Context<Backend>& ctx, models::VisionEncoder<Backend, T>& model,
                                 CView<float, 4> pixels) const {
    return on_host(ctx, model, pixels,
                   [&](View<float, 2> logits) { ops::softmax(ctx, logits, CView<float, 2>(logits)); });
  }

  // Class logits [B, K] on the host for host pixels [B, 3, S, S] (to keep some of the classes before the
  // softmax, as the ImageNet-A and -R evaluations keep 200 of a 1000-class head's outputs).
  Tensor<float, 2> host_logits(Context<Backend>& ctx, models::VisionEncoder<Backend, T>& model,
                               CView<float, 4> pixels) const {
    return on_host(ctx, model, pixels, [](View<float, 2>) {});
  }

 private:
  // The logits of host pixels, `then` applied to them in the backend's memory, copied to the host.
  template <class Then>
  Tensor<float, 2> on_host(Context<Backend>& ctx, models::VisionEncoder<Backend, T>& model, CView<float, 4> pixels,
                           Then then) const {
    auto scope = ctx.workspace().scope();
    View<float, 2> out = ctx.workspace().template tensor<float>(Extents<2>{pixels.size(0), num_classes()});
    logits(ctx, model, to_backend<T>(ctx, pixels), out);
    then(out);
    return to_host(ctx, CView<float, 2>(out));
  }

  static void run(Context<Backend>& ctx, const LinearProbeWeights& w, View<float, 2> logits, CView<float, 3> features) {
    linear_probe(ctx, w, logits, features);
  }
  static void run(Context<Backend>& ctx, const AttentionPoolProbeWeights& w, View<float, 2> logits,
                  CView<float, 3> features) {
    attention_pool_probe(ctx, w, logits, features);
  }

  std::shared_ptr<models::WeightStore<Backend, float>> store_;
  std::variant<LinearProbeWeights, AttentionPoolProbeWeights> weights_;
  HeadDescription description_;
  int block_ = 0;
  std::shared_ptr<const void> keep_alive_;
};

}  // namespace internvl::heads
