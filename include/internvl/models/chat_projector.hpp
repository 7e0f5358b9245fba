// InternVL-Chat's visual tokens (facts §4.3-4.4): from an InternViT hidden state [B, 1 + G², C],
//   drop the class token -> pixel shuffle (2×2 neighbourhoods, v1 or v2 order) -> [B, G²/4, 4C]
//   -> LayerNorm(4C, eps 1e-5) -> Linear(4C -> Dllm) -> GELU -> Linear(Dllm -> Dllm)   = mlp1
// Weights: mlp1.{0,1,3}.* (original naming) or multi_modal_projector.{layer_norm,linear_1,linear_2}.*
// (transformers, optionally under model.); ps_version, downsample_ratio and select_layer come from
// config.json (transformers' port always uses the v2 order).
#pragma once

#include <memory>
#include <string>

#include "internvl/io/model_dir.hpp"
#include "internvl/models/weight_store.hpp"
#include "internvl/ops/layer_norm.hpp"
#include "internvl/ops/linear.hpp"
#include "internvl/ops/pixel_shuffle.hpp"

namespace internvl::models {

template <class Backend, class T = default_activation_t<Backend>>
class ChatProjector {
 public:
  static ChatProjector load(std::shared_ptr<const io::ModelDir> dir) {
    const nlohmann::json& cfg = dir->config();
    const std::string where = (dir->path() / "config.json").string();
    ChatProjector p;
    p.dir_ = dir;
    struct Naming {
      const char* prefix;
      const char* probe;
      bool transformers;
    };
    std::string prefix;
    bool transformers = false;
    for (const Naming& n : {Naming{"mlp1.", "0.weight", false}, Naming{"multi_modal_projector.", "layer_norm.weight", true},
                            Naming{"model.multi_modal_projector.", "layer_norm.weight", true}}) {
      if (dir->has(std::string(n.prefix) + n.probe)) {
        prefix = n.prefix;
        transformers = n.transformers;
        break;
      }
    }
    INTERNVL_CHECK(!prefix.empty(), dir->path().string(),
                   "no chat projector weights (mlp1.* or multi_modal_projector.*): is this a chat checkpoint?");
    const double ratio = cfg.value("downsample_ratio", 0.5);
    INTERNVL_CHECK(ratio == 0.5, where, "field 'downsample_ratio' is ", ratio, "; only 0.5 is supported");
    const std::string version = transformers ? "v2" : cfg.value("ps_version", std::string("v1"));
    INTERNVL_CHECK(version == "v1" || version == "v2", where, "field 'ps_version' must be \"v1\" or \"v2\", got \"",
                   version, "\"");
    p.version_ = version == "v2" ? ops::PixelShuffleVersion::v2 : ops::PixelShuffleVersion::v1;
    p.select_layer_ = cfg.value(transformers ? "vision_feature_layer" : "select_layer", -1);
    const auto name = [&](const char* original, const char* hf) { return prefix + (transformers ? hf : original); };
    const index_t width = leading_size(*dir, name("0.weight", "layer_norm.weight"), 1);
    const index_t llm = leading_size(*dir, name("1.weight", "linear_1.weight"), 2);
    auto& s = *p.store_;
    p.norm_weight_ = s.table(dir->weight(name("0.weight", "layer_norm.weight"), Extents<1>{width}));
    p.norm_bias_ = s.table(dir->weight(name("0.bias", "layer_norm.bias"), Extents<1>{width}));
    p.fc1_ = s.matrix(dir->weight(name("1.weight", "linear_1.weight"), Extents<2>{llm, width}));
    p.fc1_bias_ = s.table(dir->weight(name("1.bias", "linear_1.bias"), Extents<1>{llm}));
    p.fc2_ = s.matrix(dir->weight(name("3.weight", "linear_2.weight"), Extents<2>{llm, llm}));
    p.fc2_bias_ = s.table(dir->weight(name("3.bias", "linear_2.bias"), Extents<1>{llm}));
    return p;
  }

  // The hidden state the chat model feeds the projector (select_layer, e.g. -1 or -4).
  int select_layer() const { return select_layer_; }
  ops::PixelShuffleVersion version() const { return version_; }
  index_t output_width() const { return fc2_.size(0); }

  // out [B, G²/4, Dllm] from hidden [B, 1 + G², C].
  void forward(Context<Backend>& ctx, View<T, 3> out, CView<T, 3> hidden) const {
    const index_t batch = hidden.size(0), patches = hidden.size(1) - 1, width = 4 * hidden.size(2);
    INTERNVL_CHECK(width == norm_weight_.size(0), "ChatProjector", "hidden width ", hidden.size(2),
                   " gives ", width, " shuffled channels, the projector expects ", norm_weight_.size(0));
    auto& ws = ctx.workspace();
    auto scope = ws.scope();
    View<T, 3> shuffled = ws.template tensor<T>(Extents<3>{batch, patches / 4, width});   // [B, N/4, 4C]
    ops::pixel_shuffle(ctx, shuffled, hidden.slice(1, 1, patches + 1), version_);
    View<T, 2> rows = shuffled.reshape(Extents<2>{batch * patches / 4, width});
    ops::layer_norm(ctx, rows, CView<T, 2>(rows), norm_weight_, norm_bias_, 1e-5f);
    View<T, 2> hidden_llm = ws.template tensor<T>(Extents<2>{batch * patches / 4, fc1_.size(0)});
    ops::linear(ctx, hidden_llm, CView<T, 2>(rows), fc1_, fc1_bias_, ops::Activation::gelu);
    ops::linear(ctx, out.reshape(Extents<2>{batch * patches / 4, fc2_.size(0)}), CView<T, 2>(hidden_llm), fc2_, fc2_bias_);
  }

 private:
  // The first extent of a tensor of the given rank (which fixes the other shapes).
  static index_t leading_size(const io::ModelDir& dir, const std::string& name, std::size_t rank) {
    const auto& t = dir.tensor(name);
    INTERNVL_CHECK(t.rank() == rank, dir.path().string(), "tensor '", name, "' has rank ", t.rank(), ", expected ", rank);
    return t.shape()[0];
  }

  std::shared_ptr<const io::ModelDir> dir_;
  std::shared_ptr<WeightStore<Backend, T>> store_ = std::make_shared<WeightStore<Backend, T>>();
  ops::PixelShuffleVersion version_ = ops::PixelShuffleVersion::v1;
  int select_layer_ = -1;
  CView<float, 1> norm_weight_, norm_bias_, fc1_bias_, fc2_bias_;
  WeightView<2> fc1_, fc2_;
};

}  // namespace internvl::models
