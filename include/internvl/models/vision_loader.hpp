// Loading InternViT from a Hugging Face model directory, in either naming scheme (facts §1.5):
//   original (remote code)  embeddings.class_embedding, encoder.layers.{i}.attn.qkv.weight, .ls1, .norm1
//   transformers            embeddings.cls_token, encoder.layer.{i}.attention.{q,k,v}_proj.weight, .lambda_1,
//                           .layernorm_before
// optionally under the prefix a chat checkpoint puts them (vision_model., vision_tower.,
// model.vision_tower.). Every tensor's shape is checked against the config; a missing tensor, or a
// vision tensor the config does not account for (say, blocks past num_hidden_layers), is an error.
// Free of Boost.Hana (config.json parsing lives in load_intern_vit.hpp), so CUDA code can include it.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <utility>

#include "internvl/config/preset_select.hpp"
#include "internvl/io/model_dir.hpp"
#include "internvl/io/to_f32.hpp"
#include "internvl/models/intern_vit.hpp"

namespace internvl::models {

struct VisionNaming {
  std::string prefix;         // "", "vision_model.", "vision_tower." or "model.vision_tower."
  bool transformers = false;  // transformers names rather than the original ones
};

// Finds where and under which names a directory stores its InternViT weights.
inline VisionNaming detect_vision_naming(const io::ModelDir& dir) {
  for (const char* prefix : {"", "vision_model.", "vision_tower.", "model.vision_tower."}) {
    if (dir.has(std::string(prefix) + "embeddings.class_embedding")) {
      return {prefix, false};
    }
    if (dir.has(std::string(prefix) + "embeddings.cls_token")) {
      return {prefix, true};
    }
  }
  fail(dir.path().string(), "no InternViT weights found (looked for embeddings.class_embedding and ",
       "embeddings.cls_token, bare or under vision_model., vision_tower., model.vision_tower.)");
}

namespace detail {

// Reads each named tensor (shape-checked) into the store and counts parameters.
template <class Backend, class T>
class VisionReader {
 public:
  VisionReader(const io::ModelDir& dir, const VisionNaming& naming, WeightStore<Backend, T>& store)
      : dir_(dir), naming_(naming), store_(store) {}

  template <std::size_t R>
  WeightView<R> matrix(const std::string& name, const Extents<R>& shape) {
    return store_.matrix(read(name, shape));
  }
  template <std::size_t R>
  CView<float, R> table(const std::string& name, const Extents<R>& shape) {
    return store_.table(read(name, shape));
  }
  CView<float, 1> vector(const std::string& name, index_t length) { return table(name, Extents<1>{length}); }
  // A host f32 copy, for what the loader assembles on the host before it goes into the store.
  template <std::size_t R>
  Tensor<float, R> host_table(const std::string& name, const Extents<R>& shape) {
    return io::to_f32(read(name, shape));
  }

  // One name or the other, by naming scheme.
  std::string pick(const std::string& original, const std::string& transformers) const {
    return naming_.transformers ? transformers : original;
  }
  std::int64_t parameters() const { return parameters_; }

 private:
  template <std::size_t R>
  WeightView<R> read(const std::string& name, const Extents<R>& shape) {
    WeightView<R> w = dir_.weight(naming_.prefix + name, shape);
    std::int64_t n = 1;
    for (index_t e : shape) {
      n *= e;
    }
    parameters_ += n;
    return w;
  }

  const io::ModelDir& dir_;
  const VisionNaming& naming_;
  WeightStore<Backend, T>& store_;
  std::int64_t parameters_ = 0;
};

}  // namespace detail

template <class Backend, class T = default_activation_t<Backend>>
VisionEncoder<Backend, T> load_vision_encoder(std::shared_ptr<const io::ModelDir> dir, const config::VisionConfig& c) {
  const VisionNaming naming = detect_vision_naming(*dir);
  auto store = std::make_shared<WeightStore<Backend, T>>();
  detail::VisionReader<Backend, T> r(*dir, naming, *store);
  const index_t d = c.hidden_size, f = c.intermediate_size, p = c.patch_size, ch = c.num_channels;
  const bool layer_norm = c.norm_type == config::Norm::layer_norm;

  VisionWeights w;
  w.patch_weight = r.matrix(r.pick("embeddings.patch_embedding.weight", "embeddings.patch_embeddings.projection.weight"),
                            Extents<4>{d, ch, p, p})
                       .reshape(Extents<2>{d, ch * p * p});
  w.patch_bias = r.vector(r.pick("embeddings.patch_embedding.bias", "embeddings.patch_embeddings.projection.bias"), d);
  w.class_embedding = r.table(r.pick("embeddings.class_embedding", "embeddings.cls_token"), Extents<3>{1, 1, d})
                          .reshape(Extents<1>{d});
  // The stored table stays on the host too (in f32): positions for other grids are resized from it.
  const Tensor<float, 3> stored_positions =
      r.host_table(r.pick("embeddings.position_embedding", "embeddings.position_embeddings"), Extents<3>{1, c.tokens(), d});
  const auto positions_2d = [&] {
    Tensor<float, 2> t(Extents<2>{c.tokens(), d});
    std::copy_n(stored_positions.data(), t.numel(), t.data());
    return t;
  };
  Tensor<float, 2> native_positions = positions_2d();
  w.position_embedding = store->keep(positions_2d());

  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const std::string l = r.pick("encoder.layers.", "encoder.layer.") + std::to_string(i) + ".";
    VisionLayerWeights layer;
    const std::string norm1 = l + r.pick("norm1.", "layernorm_before.");
    const std::string norm2 = l + r.pick("norm2.", "layernorm_after.");
    layer.norm1_weight = r.vector(norm1 + "weight", d);
    layer.norm2_weight = r.vector(norm2 + "weight", d);
    if (layer_norm) {
      layer.norm1_bias = r.vector(norm1 + "bias", d);
      layer.norm2_bias = r.vector(norm2 + "bias", d);
    }
    if (naming.transformers) {
      Tensor<float, 1> bias(Extents<1>{c.qkv_bias ? 3 * d : 0});
      index_t column = 0;
      for (const char* part : {"q_proj", "k_proj", "v_proj"}) {
        const std::string name = l + "attention." + part + ".";
        layer.qkv.parts.push_back(r.matrix(name + "weight", Extents<2>{d, d}));
        if (c.qkv_bias) {
          const Tensor<float, 1> b = r.host_table(name + "bias", Extents<1>{d});
          std::copy_n(b.data(), d, bias.data() + column);
        }
        column += d;
      }
      if (c.qkv_bias) {
        layer.qkv.bias = store->keep(std::move(bias));
      }
    } else {
      layer.qkv.parts.push_back(r.matrix(l + "attn.qkv.weight", Extents<2>{3 * d, d}));
      if (c.qkv_bias) {
        layer.qkv.bias = r.vector(l + "attn.qkv.bias", 3 * d);
      }
    }
    if (c.qk_normalization) {
      layer.q_norm = r.vector(l + r.pick("attn.q_norm.weight", "attention.q_norm.weight"), d);
      layer.k_norm = r.vector(l + r.pick("attn.k_norm.weight", "attention.k_norm.weight"), d);
    }
    const std::string proj = l + r.pick("attn.proj.", "attention.projection_layer.");
    layer.proj = r.matrix(proj + "weight", Extents<2>{d, d});
    layer.proj_bias = r.vector(proj + "bias", d);
    layer.ls1 = r.vector(l + r.pick("ls1", "lambda_1"), d);
    layer.ls2 = r.vector(l + r.pick("ls2", "lambda_2"), d);
    layer.fc1 = r.matrix(l + "mlp.fc1.weight", Extents<2>{f, d});
    layer.fc1_bias = r.vector(l + "mlp.fc1.bias", f);
    layer.fc2 = r.matrix(l + "mlp.fc2.weight", Extents<2>{d, f});
    layer.fc2_bias = r.vector(l + "mlp.fc2.bias", d);
    w.layers.push_back(std::move(layer));
  }
  for (const std::string& name : dir->unused_names()) {
    const bool vision = name.rfind(naming.prefix + "embeddings.", 0) == 0 || name.rfind(naming.prefix + "encoder.", 0) == 0;
    INTERNVL_CHECK(!vision, dir->path().string(), "unexpected tensor '", name, "': config.json describes ",
                   c.num_hidden_layers, " blocks with norm_type ", config::name_of(c.norm_type), ", qkv_bias ",
                   c.qkv_bias, ", qk_normalization ", c.qk_normalization);
  }
  VisionEncoder<Backend, T> encoder(c, std::move(w), std::move(native_positions), std::move(store), dir);
  encoder.set_parameter_count(r.parameters());
  return encoder;
}

// Loads `dir` (whose config is `c`) with the compiled preset equal to `c`, or presets::Dynamic, and
// calls fn(model) with model an InternViT<Preset, Backend, T>&.
template <class Backend, class T = default_activation_t<Backend>, class Fn>
decltype(auto) visit_intern_vit(std::shared_ptr<const io::ModelDir> dir, const config::VisionConfig& c, Fn&& fn) {
  return config::visit_vision_preset(c, [&]<class Preset>() -> decltype(auto) {
    InternViT<Preset, Backend, T> model(load_vision_encoder<Backend, T>(dir, c));
    return fn(model);
  });
}

}  // namespace internvl::models
