// The compiled InternViT presets. A preset is a named type holding a constexpr VisionConfig, so
// `InternViT<presets::InternViT6B_224, backend::cpu>` reads like the checkpoint it runs. Parameter
// counts are pinned by static_assert against the facts sheet (docs: internvl-facts.md §1.6).
// presets::Dynamic is the runtime-shaped case: dimensions come from the checkpoint's config.json.
#pragma once

#include <string_view>
#include <tuple>

#include "internvl/config/vision.hpp"

namespace internvl::presets {

using config::Norm;
using config::VisionConfig;

// The paper's InternViT-6B (CVPR 2024), 224 px, 48 blocks.
struct InternViT6B_224 {
  static constexpr std::string_view name = "InternViT-6B-224px";
  static constexpr VisionConfig value{.image_size = 224, .num_hidden_layers = 48};
};

// InternViT-6B-448px-V1-0: 48 blocks at 448 px (its model card taps the 4th-to-last block).
struct InternViT6B_448_V1_0 {
  static constexpr std::string_view name = "InternViT-6B-448px-V1-0";
  static constexpr VisionConfig value{.image_size = 448, .num_hidden_layers = 48};
};

// InternViT-6B-448px-V1-2, V1-5 and V2.5: the last three blocks dropped (45 blocks), same shapes.
struct InternViT6B_448_V1_5 {
  static constexpr std::string_view name = "InternViT-6B-448px-V1-5";
  static constexpr VisionConfig value{.image_size = 448, .num_hidden_layers = 45};
};
using InternViT6B_448_V1_2 = InternViT6B_448_V1_5;
using InternViT6B_448_V2_5 = InternViT6B_448_V1_5;

// InternViT-300M-448px: LayerNorm with bias, qkv bias, no q/k norm.
struct InternViT300M_448 {
  static constexpr std::string_view name = "InternViT-300M-448px";
  static constexpr VisionConfig value{.image_size = 448,
                                      .hidden_size = 1024,
                                      .intermediate_size = 4096,
                                      .num_attention_heads = 16,
                                      .num_hidden_layers = 24,
                                      .qkv_bias = true,
                                      .qk_normalization = false,
                                      .norm_type = Norm::layer_norm};
};

// Tiny models of both families for tests and the golden fixtures (tests/golden/vision/make.py).
struct TinyViT6BStyle {
  static constexpr std::string_view name = "tiny-6B-style";
  static constexpr VisionConfig value{.image_size = 56,
                                      .hidden_size = 64,
                                      .intermediate_size = 128,
                                      .num_attention_heads = 4,
                                      .num_hidden_layers = 3};
};
struct TinyViT300MStyle {
  static constexpr std::string_view name = "tiny-300M-style";
  static constexpr VisionConfig value{.image_size = 56,
                                      .hidden_size = 48,
                                      .intermediate_size = 96,
                                      .num_attention_heads = 3,
                                      .num_hidden_layers = 2,
                                      .qkv_bias = true,
                                      .qk_normalization = false,
                                      .norm_type = Norm::layer_norm};
};

// Any InternViT-family checkpoint whose config.json matches no compiled preset.
struct Dynamic {
  static constexpr std::string_view name = "runtime-shaped";
};

// The compiled presets a checkpoint's config.json is matched against, in this order.
using VisionPresets =
    std::tuple<InternViT6B_224, InternViT6B_448_V1_0, InternViT6B_448_V1_5, InternViT300M_448, TinyViT6BStyle,
               TinyViT300MStyle>;

template <class Preset>
inline constexpr bool is_dynamic_v = std::is_same_v<Preset, Dynamic>;

static_assert(InternViT6B_224::value.block_parameter_count() == 122'918'400);
static_assert(InternViT6B_224::value.embedding_parameter_count() == 2'710'400);
static_assert(InternViT6B_224::value.parameter_count() == 5'902'793'600, "InternViT-6B-224px has 5,902,793,600 parameters");
static_assert(InternViT6B_448_V1_0::value.parameter_count() == 5'905'251'200, "InternViT-6B-448px-V1-0: 5,905,251,200");
static_assert(InternViT6B_448_V1_5::value.parameter_count() == 5'536'496'000, "InternViT-6B-448px-V1-5: 5,536,496,000");
static_assert(InternViT300M_448::value.block_parameter_count() == 12'598'272);
static_assert(InternViT300M_448::value.parameter_count() == 304'012'288, "InternViT-300M-448px: 304,012,288");
static_assert(config::invalid_field(InternViT6B_224::value).empty() && config::invalid_field(InternViT300M_448::value).empty() &&
              config::invalid_field(TinyViT6BStyle::value).empty() && config::invalid_field(TinyViT300MStyle::value).empty());
static_assert(InternViT6B_224::value.head_dim() == 128 && InternViT300M_448::value.head_dim() == 64);
static_assert(InternViT6B_224::value.tokens() == 257 && InternViT6B_448_V1_5::value.tokens() == 1025);

}  // namespace internvl::presets
