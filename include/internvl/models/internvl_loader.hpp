// Loading InternVL-C/G from a Hugging Face model directory in the layout of OpenGVLab/InternVL-14B-224px
// (remote-code names, facts §1.5, §2.4, §3.1): vision_model.* (InternViT, models/vision_loader.hpp),
// qllama.model.* and qllama.lm_head.weight (QLLaMA), query_tokens, clip_projector.*, clip_projector2.*,
// text_projection, logit_scale, itm_head.*. Matrices stay in the memory mapping in their stored dtype
// (bf16 for the official checkpoint), so a 27.7 GB model runs in far less memory: the kernel pages the
// weights in as they are read and may drop them again. On CUDA the store uploads them once instead
// (backend/cuda/weight_store.cuh).
// Every tensor's shape is checked against the config; a missing tensor, or any tensor the config does
// not account for, is an error naming it. Free of Boost.Hana (config.json parsing lives in
// load_internvl.hpp), so CUDA code can include it.
#pragma once

#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "internvl/config/preset_select.hpp"
#include "internvl/models/internvl.hpp"
#include "internvl/models/vision_loader.hpp"

namespace internvl::models {

namespace detail {

// A one-element tensor (shape [] or [1]) of any float dtype, as a float.
inline float read_scalar(const io::ModelDir& dir, const std::string& name) {
  const io::StoredTensor& t = dir.tensor(name);
  INTERNVL_CHECK(t.numel() == 1 && t.rank() <= 1, dir.path().string(), "tensor '", name, "' has shape ",
                 io::shape_string(t.shape()), ", expected a scalar");
  return visit_dtype(t.dtype(), [&]<class E>(E) {
    E value;
    std::memcpy(&value, t.bytes().data(), sizeof(E));
    return to_float(value);
  });
}

template <class Backend, class T>
AttentionPoolingWeights read_attention_pooling(VisionReader<Backend, T>& r, const std::string& prefix, index_t dim,
                                               index_t out) {
  AttentionPoolingWeights w;
  w.norm_q_weight = r.vector(prefix + "norm1_q.weight", dim);
  w.norm_q_bias = r.vector(prefix + "norm1_q.bias", dim);
  w.norm_k_weight = r.vector(prefix + "norm1_k.weight", dim);
  w.norm_k_bias = r.vector(prefix + "norm1_k.bias", dim);
  w.norm_v_weight = r.vector(prefix + "norm1_v.weight", dim);
  w.norm_v_bias = r.vector(prefix + "norm1_v.bias", dim);
  w.q = r.matrix(prefix + "cross_attn.q.weight", Extents<2>{dim, dim});
  w.k = r.matrix(prefix + "cross_attn.k.weight", Extents<2>{dim, dim});
  w.v = r.matrix(prefix + "cross_attn.v.weight", Extents<2>{dim, dim});
  w.q_bias = r.vector(prefix + "cross_attn.q_bias", dim);
  w.k_bias = r.vector(prefix + "cross_attn.k_bias", dim);
  w.v_bias = r.vector(prefix + "cross_attn.v_bias", dim);
  w.proj = r.matrix(prefix + "cross_attn.proj.weight", Extents<2>{out, dim});
  w.proj_bias = r.vector(prefix + "cross_attn.proj.bias", out);
  return w;
}

template <class Backend, class T>
QLlamaWeights read_qllama(VisionReader<Backend, T>& r, const config::QLlamaConfig& c) {
  const index_t d = c.hidden_size, f = c.intermediate_size, v = c.vocab_size, dv = c.vision_hidden_size;
  QLlamaWeights w;
  w.query_tokens =
      r.matrix("query_tokens", Extents<3>{1, c.num_query_token, d}).reshape(Extents<2>{c.num_query_token, d});
  w.embed_tokens = r.matrix("qllama.model.embed_tokens.weight", Extents<2>{v, d});
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const std::string l = "qllama.model.layers." + std::to_string(i) + ".";
    QLlamaLayerWeights layer;
    layer.input_layernorm = r.vector(l + "input_layernorm.weight", d);
    for (const char* part : {"q_proj", "k_proj", "v_proj"}) {
      layer.qkv.parts.push_back(r.matrix(l + "self_attn." + part + ".weight", Extents<2>{d, d}));
    }
    layer.o_proj = r.matrix(l + "self_attn.o_proj.weight", Extents<2>{d, d});
    if (c.has_cross_attention(i)) {
      const std::string x = l + "cross_attn.";
      layer.cross_attn = QLlamaCrossAttentionWeights{.norm1 = r.vector(x + "norm1.weight", d),
                                                     .norm2 = r.vector(x + "norm2.weight", dv),
                                                     .q_proj = r.matrix(x + "q_proj.weight", Extents<2>{d, d}),
                                                     .o_proj = r.matrix(x + "o_proj.weight", Extents<2>{d, d}),
                                                     .k_proj = r.matrix(x + "k_proj.weight", Extents<2>{d, dv}),
                                                     .v_proj = r.matrix(x + "v_proj.weight", Extents<2>{d, dv})};
    }
    layer.post_attention_layernorm = r.vector(l + "post_attention_layernorm.weight", d);
    layer.gate_proj = r.matrix(l + "mlp.gate_proj.weight", Extents<2>{f, d});
    layer.up_proj = r.matrix(l + "mlp.up_proj.weight", Extents<2>{f, d});
    layer.down_proj = r.matrix(l + "mlp.down_proj.weight", Extents<2>{d, f});
    w.layers.push_back(std::move(layer));
  }
  w.norm = r.vector("qllama.model.norm.weight", d);
  w.lm_head = c.tie_word_embeddings ? w.embed_tokens : r.matrix("qllama.lm_head.weight", Extents<2>{v, d});
  return w;
}

}  // namespace detail

template <class Backend, class T = default_activation_t<Backend>>
InternVLModel<Backend, T> load_internvl_model(std::shared_ptr<const io::ModelDir> dir,
                                              const config::InternVLConfig& c) {
  const std::string_view bad = config::invalid_field(c);
  INTERNVL_CHECK(bad.empty(), dir->path().string(), "the config cannot be run: field '", bad, "'");
  VisionEncoder<Backend, T> vision = load_vision_encoder<Backend, T>(dir, c.vision_model_config());
  auto store = std::make_shared<WeightStore<Backend, T>>();
  const VisionNaming top_level{};  // the reader with an empty prefix reads any tensor of the directory
  detail::VisionReader<Backend, T> r(*dir, top_level, *store);
  QLlamaWeights qllama = detail::read_qllama(r, c.qllama_config);
  const index_t d = c.qllama_config.hidden_size, dv = c.vision_config.hidden_size, e = c.clip_embed_dim;

  InternVLHeadWeights heads;
  heads.clip_projector = detail::read_attention_pooling(r, "clip_projector.", dv, e);
  heads.clip_projector2 = detail::read_attention_pooling(r, "clip_projector2.", d, e);
  const Tensor<float, 2> projection = r.host_table("text_projection", Extents<2>{d, e});  // x·P with P [D, E]
  Tensor<float, 2> transposed(Extents<2>{e, d});
  for (index_t i = 0; i < d; ++i) {
    for (index_t j = 0; j < e; ++j) {
      transposed(j, i) = projection(i, j);
    }
  }
  heads.text_projection = store->keep_matrix(std::move(transposed));
  heads.logit_scale = detail::read_scalar(*dir, "logit_scale");
  heads.itm_head = r.matrix("itm_head.weight", Extents<2>{2, d});
  heads.itm_head_bias = r.vector("itm_head.bias", 2);

  for (const std::string& name : dir->unused_names()) {
    fail(dir->path().string(), "unexpected tensor '", name, "': config.json describes QLLaMA with ",
         c.qllama_config.num_hidden_layers, " layers (cross-attention every ",
         c.qllama_config.cross_attention_frequency, "), ", c.qllama_config.num_query_token,
         " queries and tie_word_embeddings ", c.qllama_config.tie_word_embeddings);
  }
  const std::int64_t parameters = vision.parameter_count() + r.parameters() + 1;  // + logit_scale
  InternVLModel<Backend, T> model(c, std::move(vision), QLlama<Backend, T>(c.qllama_config, std::move(qllama)),
                                  std::move(heads), std::move(store), dir->path(), dir);
  model.set_parameter_count(parameters);
  return model;
}

// Loads `dir` (whose config is `c`) with the compiled preset equal to `c`, or presets::Dynamic, and
// calls fn(model) with model an InternVL<Preset, Backend, T>&.
template <class Backend, class T = default_activation_t<Backend>, class Fn>
decltype(auto) visit_internvl(std::shared_ptr<const io::ModelDir> dir, const config::InternVLConfig& c, Fn&& fn) {
  return config::visit_internvl_preset(c, [&]<class Preset>() -> decltype(auto) {
    InternVL<Preset, Backend, T> model(load_internvl_model<Backend, T>(dir, c));
    return fn(model);
  });
}

}  // namespace internvl::models
