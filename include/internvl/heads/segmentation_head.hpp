// SegmentationHead: a seg_linear or seg_upernet head file bound to an InternViT backbone, and the
// forward pass of one image (or window) through both:
//   seg_linear   logits = seg_linear( X_{b+1} )                      [B, K, Gh, Gw]
//   seg_upernet  logits = UperNet( X_{b0+1}, X_{b1+1}, X_{b2+1}, X_{b3+1} )   [B, K, 4Gh, 4Gw]
// for pixels [B, 3, H, W] (H, W multiples of the patch size; Gh = H / P, Gw = W / P), with X_k the
// backbone's hidden states (the file's 0-based "layer"/"layers" b name blocks; state b + 1 is their
// output). Each block's features are consumed as soon as the backbone has computed them.
// T is the backbone's activation type; the head computes in f32 whatever T is (head_features.hpp), so
// its logits are f32 on every backend. The caller resizes them to the image (sliding_window.hpp,
// segmenter.hpp).
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "internvl/heads/head_features.hpp"
#include "internvl/heads/seg_linear.hpp"
#include "internvl/heads/upernet.hpp"
#include "internvl/models/intern_vit.hpp"

namespace internvl::heads {

template <class Backend, class T = default_activation_t<Backend>>
class SegmentationHead {
 public:
  // Loads the head file at `path` for a backbone with this config (layers, widths and tensors checked).
  SegmentationHead(const std::string& path, const config::VisionConfig& backbone)
      : store_(std::make_shared<models::WeightStore<Backend, float>>()), patch_size_(backbone.patch_size) {
    const HeadFile file(path);
    const HeadDescription& d = file.description();
    INTERNVL_CHECK(is_segmentation(d.type), path, "a ", name_of(d.type),
                   " head is a classification head, not a segmentation head");
    for (int block : d.layers) {
      INTERNVL_CHECK(block < backbone.num_hidden_layers, path, "the head reads block ", block,
                     " but the backbone has only ", backbone.num_hidden_layers, " blocks (0..",
                     backbone.num_hidden_layers - 1, ")");
    }
    INTERNVL_CHECK(d.crop_size % backbone.patch_size == 0, path, "crop_size ", d.crop_size,
                   " is not a multiple of the backbone's patch size ", backbone.patch_size);
    HeadReader<Backend, float> r(file, *store_);
    if (d.type == HeadType::seg_linear) {
      weights_ = read_seg_linear(r, backbone.hidden_size);
    } else {
      weights_ = read_upernet(r, backbone.hidden_size);
    }
    file.refuse_unexpected();
    description_ = d;
    keep_alive_ = file.keep_alive();
  }

  const HeadDescription& description() const { return description_; }
  index_t num_classes() const { return description_.num_classes; }

  // The logits' spatial size for an H × W input.
  Extents<2> output_size(index_t height, index_t width) const {
    const index_t scale = description_.type == HeadType::seg_upernet ? 4 : 1;
    return {height / patch_size_ * scale, width / patch_size_ * scale};
  }

  // logits [B, K, h, w] (output_size) for pixels [B, 3, H, W] in the backend's memory; the result is
  // taken from the workspace in the caller's scope.
  View<float, 4> logits(Context<Backend>& ctx, models::VisionEncoder<Backend, T>& model, CView<T, 4> pixels) const {
    const index_t grid_h = pixels.size(2) / patch_size_, grid_w = pixels.size(3) / patch_size_;
    const Extents<2> size = output_size(pixels.size(2), pixels.size(3));
    auto& ws = ctx.workspace();
    View<float, 4> out = ws.template tensor<float>(Extents<4>{pixels.size(0), num_classes(), size[0], size[1]});
    std::vector<int> states;
    for (int block : description_.layers) {
      states.push_back(block + 1);
    }
    if (const auto* w = std::get_if<SegLinearWeights>(&weights_)) {
      model.forward(ctx, pixels, states, [&](int, CView<T, 3> tokens) {
        auto scope = ws.scope();
        seg_linear(ctx, *w, out, head_features(ctx, tokens), grid_h, grid_w);
      });
      return out;
    }
    const auto& w = std::get<UperNetWeights>(weights_);
    auto laterals = allocate_laterals<Backend, float>(ctx, w, pixels.size(0), grid_h, grid_w);
    model.forward(ctx, pixels, states, [&](int state, CView<T, 3> tokens) {
      auto scope = ws.scope();
      const CView<float, 4> map = token_grid(head_features(ctx, tokens), grid_h, grid_w);
      // A state may feed several levels (the same block listed twice).
      for (int level = 0; level < 4; ++level) {
        if (description_.layers[static_cast<std::size_t>(level)] + 1 == state) {
          upernet_lateral(ctx, w, level, laterals, map);
        }
      }
    });
    upernet_decode(ctx, w, laterals, out);
    return out;
  }

 private:
  std::shared_ptr<models::WeightStore<Backend, float>> store_;
  std::variant<SegLinearWeights, UperNetWeights> weights_;
  HeadDescription description_;
  index_t patch_size_;
  std::shared_ptr<const void> keep_alive_;
};

}  // namespace internvl::heads
