// VisionConfig: the shape of an InternViT encoder, field for field as in the checkpoint's
// config.json (the original remote-code names), plus the quantities derived from it.
//   tokens S = 1 + (image/patch)²,  head dim = hidden / heads,
//   parameters = 3P²D + D (patch conv) + D (class token) + S·D (positions) + L·P_block,
//   P_block = 3D² (+3D qkv bias) + D² + D (proj) + 2DF + F + D (MLP) + 2D (LayerScale) + norms,
//   norms = 2D (RMSNorm) + 2D (q/k RMSNorm) for the 6B family, 4D (LayerNorms with bias) for 300M.
#pragma once

#include <cstdint>
#include <string_view>

namespace internvl::config {

enum class Norm { rms_norm, layer_norm };
enum class HiddenAct { gelu };

constexpr std::string_view name_of(Norm n) { return n == Norm::rms_norm ? "rms_norm" : "layer_norm"; }
constexpr std::string_view name_of(HiddenAct) { return "gelu"; }

struct VisionConfig {
  int num_channels = 3;
  int patch_size = 14;
  int image_size = 224;         // native resolution: the position-embedding grid is image_size / patch_size
  int hidden_size = 3200;       // D
  int intermediate_size = 12800;  // F
  int num_attention_heads = 25;   // H
  int num_hidden_layers = 48;     // L
  bool qkv_bias = false;
  bool qk_normalization = true;   // RMSNorm of q and k over all D channels, before the head split
  Norm norm_type = Norm::rms_norm;
  double layer_norm_eps = 1e-6;
  HiddenAct hidden_act = HiddenAct::gelu;

  constexpr int head_dim() const { return hidden_size / num_attention_heads; }
  constexpr int grid() const { return image_size / patch_size; }
  constexpr int tokens() const { return 1 + grid() * grid(); }

  constexpr std::int64_t block_parameter_count() const {
    const std::int64_t d = hidden_size, f = intermediate_size;
    const std::int64_t norms = norm_type == Norm::rms_norm ? 2 * d : 4 * d;
    return 3 * d * d + (qkv_bias ? 3 * d : 0) + (d * d + d) + (d * f + f) + (f * d + d) + 2 * d + norms +
           (qk_normalization ? 2 * d : 0);
  }
  constexpr std::int64_t embedding_parameter_count() const {
    const std::int64_t d = hidden_size;
    return static_cast<std::int64_t>(num_channels) * patch_size * patch_size * d + d + d + tokens() * d;
  }
  constexpr std::int64_t parameter_count() const {
    return embedding_parameter_count() + num_hidden_layers * block_parameter_count();
  }

  // Multiply-adds count twice; norms and element-wise work are left out (< 0.1%).
  // Per block on S tokens: QKV 6SD², scores and PV 4S²D, projection 2SD², MLP 4SDF.
  constexpr double flops_per_image(int image_side) const {
    const double g = image_side / patch_size, s = 1 + g * g, d = hidden_size, f = intermediate_size;
    const double patch = 2.0 * g * g * num_channels * patch_size * patch_size * d;
    const double block = 6 * s * d * d + 4 * s * s * d + 2 * s * d * d + 4 * s * d * f;
    return patch + num_hidden_layers * block;
  }
  constexpr double flops_per_image() const { return flops_per_image(image_size); }

  friend constexpr bool operator==(const VisionConfig&, const VisionConfig&) = default;
};

// Empty when the config describes a model we can run; otherwise the name of the offending field.
constexpr std::string_view invalid_field(const VisionConfig& c) {
  if (c.num_channels < 1) return "num_channels";
  if (c.patch_size < 1) return "patch_size";
  if (c.image_size < c.patch_size || c.image_size % c.patch_size != 0) return "image_size";
  if (c.hidden_size < 1) return "hidden_size";
  if (c.num_attention_heads < 1 || c.hidden_size % c.num_attention_heads != 0) return "num_attention_heads";
  if (c.intermediate_size < 1) return "intermediate_size";
  if (c.num_hidden_layers < 1) return "num_hidden_layers";
  if (!(c.layer_norm_eps > 0.0)) return "layer_norm_eps";
  return {};
}

}  // namespace internvl::config
