// InternVLConfig: the whole InternVL-C/G model (InternVL-14B: InternViT-6B + QLLaMA + the heads), field
// for field as its config.json (facts §2.1, §3): "vision_config", "qllama_config" and the top-level
// fields of modeling_internvl.py's InternVLConfig. num_query_token and cross_attention_frequency are
// top-level in config.json and live in qllama_config here (the official constructor copies them there).
//   attention pooling (clip_projector on InternViT tokens, clip_projector2 on the query outputs):
//     3 LayerNorms (2·dim each) + q, k, v (dim² + dim each) + proj (dim·E + E)
//   parameters = InternViT + QLLaMA + queries Q·D + text_projection D·E + logit_scale 1
//                + clip_projector(Dv) + clip_projector2(D) + itm_head 2D + 2
#pragma once

#include <cstdint>
#include <string_view>

#include "internvl/config/qllama.hpp"
#include "internvl/config/vision.hpp"

namespace internvl::config {

struct InternVLConfig {
  VisionConfig vision_config{};
  QLlamaConfig qllama_config{};
  int clip_embed_dim = 768;      // E, the width of the image and text embeddings
  int attn_pool_num_heads = 16;  // heads of both attention-pooling blocks
  int force_image_size = 0;      // 0 for null: images of vision_config.image_size
  int use_backbone_lora = 0;     // LoRA ranks of a not-yet-merged fine-tune (must be 0 here)
  int use_qllama_lora = 0;

  // The side of the images the model is evaluated at.
  constexpr int image_size() const { return force_image_size != 0 ? force_image_size : vision_config.image_size; }
  // The vision model as the official InternVLModel builds it: with force_image_size set, it resizes the
  // position table to that size before the checkpoint is read (facts §1.2), so a checkpoint (the
  // fine-tuned 364 px ones) stores the table of image_size(), not of vision_config.image_size.
  constexpr VisionConfig vision_model_config() const {
    VisionConfig built = vision_config;
    built.image_size = image_size();
    return built;
  }

  static constexpr std::int64_t pooling_parameter_count(std::int64_t dim, std::int64_t out) {
    return 3 * 2 * dim + 3 * (dim * dim + dim) + dim * out + out;
  }
  constexpr std::int64_t head_parameter_count() const {
    const std::int64_t d = qllama_config.hidden_size, e = clip_embed_dim;
    return static_cast<std::int64_t>(qllama_config.num_query_token) * d + d * e + 1 +
           pooling_parameter_count(vision_config.hidden_size, e) + pooling_parameter_count(d, e) + 2 * d + 2;
  }
  constexpr std::int64_t parameter_count() const {
    return vision_model_config().parameter_count() + qllama_config.parameter_count() + head_parameter_count();
  }

  friend constexpr bool operator==(const InternVLConfig&, const InternVLConfig&) = default;
};

// Empty when the config describes a model we can run; otherwise the name of the offending field
// ("vision_config" or "qllama_config" when the fault is inside one of them).
constexpr std::string_view invalid_field(const InternVLConfig& c) {
  if (!invalid_field(c.vision_config).empty()) return "vision_config";
  if (!invalid_field(c.qllama_config).empty()) return "qllama_config";
  if (c.qllama_config.vision_hidden_size != c.vision_config.hidden_size) return "vision_config.hidden_size";
  if (c.clip_embed_dim < 1) return "clip_embed_dim";
  if (c.attn_pool_num_heads < 1 || c.vision_config.hidden_size % c.attn_pool_num_heads != 0 ||
      c.qllama_config.hidden_size % c.attn_pool_num_heads != 0) {
    return "attn_pool_num_heads";
  }
  if (c.force_image_size < 0 || c.force_image_size % c.vision_config.patch_size != 0) return "force_image_size";
  if (c.use_backbone_lora != 0) return "use_backbone_lora";
  if (c.use_qllama_lora != 0) return "use_qllama_lora";
  return {};
}

}  // namespace internvl::config
