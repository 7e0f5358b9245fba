// The compiled QLLaMA and InternVL-C/G presets. As for InternViT (config/presets.hpp), a preset is a
// named type holding a constexpr config, and static_asserts pin the parameter counts of the facts sheet
// (§2.5 QLLaMA, §3.4 InternVL-14B). presets::Dynamic runs any other checkpoint of the family.
#pragma once

#include <string_view>
#include <tuple>

#include "internvl/config/internvl.hpp"
#include "internvl/config/presets.hpp"

namespace internvl::presets {

using config::InternVLConfig;
using config::QLlamaConfig;

// QLLaMA as in InternVL-14B: the LLaMA-7B shape (4096 wide, 32 layers, 32 heads, SwiGLU 11008,
// vocabulary 49,954) with cross-attention to InternViT-6B's 3200-wide tokens in layers 0, 2, ..., 30.
struct QLlama7B {
  static constexpr std::string_view name = "QLLaMA-7B";
  static constexpr QLlamaConfig value{};
};

// InternVL-14B-224px: InternViT-6B-224px + QLLaMA + 96 queries + the two attention-pooling heads.
struct InternVL14B_224 {
  static constexpr std::string_view name = "InternVL-14B-224px";
  static constexpr InternVLConfig value{.vision_config = InternViT6B_224::value, .qllama_config = QLlama7B::value};
};

// The tiny QLLaMA of the golden fixtures (tests/golden/internvl/make.py): QLLaMA's real vocabulary (so
// real text runs through it) on an 8-wide model, 4 layers with cross-attention in layers 0 and 2.
struct TinyQLlama {
  static constexpr std::string_view name = "tiny-QLLaMA";
  static constexpr QLlamaConfig value{.hidden_size = 8,
                                      .intermediate_size = 20,
                                      .num_hidden_layers = 4,
                                      .num_attention_heads = 2,
                                      .vision_hidden_size = TinyViT6BStyle::value.hidden_size};
};

// The tiny InternVL of the golden fixtures and example tests: tiny InternViT (6B-style) + tiny QLLaMA.
struct TinyInternVL {
  static constexpr std::string_view name = "tiny-InternVL";
  static constexpr InternVLConfig value{.vision_config = TinyViT6BStyle::value,
                                        .qllama_config = TinyQLlama::value,
                                        .clip_embed_dim = 16,
                                        .attn_pool_num_heads = 4};
};

// The compiled InternVL presets a checkpoint's config.json is matched against, in this order.
using InternVLPresets = std::tuple<InternVL14B_224, TinyInternVL>;

// Facts §2.5: LLaMA layer 202,383,360; cross-attention block 59,776,128 (×16 = 956,418,048);
// QLLaMA with lm_head 7,841,912,832.
static_assert(QLlama7B::value.layer_parameter_count() == 202'383'360);
static_assert(QLlama7B::value.cross_attention_parameter_count() == 59'776'128);
static_assert(QLlama7B::value.cross_attention_layers() == 16);
static_assert(QLlama7B::value.embedding_parameter_count() == 204'611'584);
static_assert(QLlama7B::value.parameter_count() == 7'841'912'832, "QLLaMA (with lm_head) has 7,841,912,832 parameters");
static_assert(QLlama7B::value.head_dim() == 128);
// Facts §3.1, §3.4: clip_projector 33,207,168, clip_projector2 53,515,008; InternVL-14B 13,834,975,747.
static_assert(InternVLConfig::pooling_parameter_count(3200, 768) == 33'207'168);
static_assert(InternVLConfig::pooling_parameter_count(4096, 768) == 53'515'008);
static_assert(InternVL14B_224::value.parameter_count() == 13'834'975'747,
              "InternVL-14B-224px has 13,834,975,747 parameters");
static_assert(config::invalid_field(InternVL14B_224::value).empty() &&
              config::invalid_field(TinyInternVL::value).empty());
static_assert(InternVL14B_224::value.image_size() == 224);

}  // namespace internvl::presets
