// QLlamaConfig and InternVLConfig <-> config.json. An InternVL model directory's config.json holds
// "vision_config" (read by config/vision_json.hpp), "qllama_config" (transformers' LlamaConfig names)
// and the top-level fields of modeling_internvl.py's InternVLConfig. As the official constructor does,
// the top-level num_query_token and cross_attention_frequency (defaults 96 and 2) are what QLLaMA uses,
// whatever qllama_config repeats, and the cross-attention reads vision tokens of vision_config's width.
// Absent optional fields take the official defaults (LlamaConfig's for qllama_config). Values the
// official code would not honour (rope_theta other than 10000, rope_scaling, a hidden_act other than
// silu, LoRA ranks of an unmerged fine-tune) are refused, as are impossible or mistyped ones: errors
// name the file, the object and the field.
#pragma once

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "internvl/config/vision_json.hpp"

namespace internvl::config {

namespace detail {

inline void read_value(const nlohmann::json& v, GatedAct& out, std::string_view field, std::string_view where) {
  INTERNVL_CHECK(v.is_string() && v.get<std::string>() == "silu", where, "field '", field,
                 "' must be \"silu\" (QLLaMA's SwiGLU), got ", describe(v));
  out = GatedAct::silu;
}

// Reads the fields of `fields` that `j` holds (null = absent) into the reflected config `c`.
template <class Config, std::size_t N>
void read_fields(const nlohmann::json& j, Config& c, const std::string_view (&fields)[N], std::string_view where) {
  for_each_field(c, [&](std::string_view field, auto& value) {
    if constexpr (!is_reflected_v<std::remove_cvref_t<decltype(value)>>) {
      const std::string key(field);
      if (std::find(std::begin(fields), std::end(fields), field) != std::end(fields) && j.contains(key) &&
          !j.at(key).is_null()) {
        read_value(j.at(key), value, key, where);
      }
    }
  });
}

// The LlamaConfig fields of qllama_config; the rest of QLlamaConfig comes from the InternVL level.
inline constexpr std::string_view kLlamaFields[] = {"vocab_size",        "hidden_size",         "intermediate_size",
                                                    "num_hidden_layers", "num_attention_heads", "rms_norm_eps",
                                                    "rope_theta",        "hidden_act",          "tie_word_embeddings"};
inline constexpr std::string_view kLlamaRequired[] = {"vocab_size", "hidden_size", "intermediate_size",
                                                      "num_hidden_layers", "num_attention_heads"};
inline constexpr std::string_view kInternVLFields[] = {"clip_embed_dim", "attn_pool_num_heads", "force_image_size",
                                                       "use_backbone_lora", "use_qllama_lora"};

inline const nlohmann::json& object_field(const nlohmann::json& root, const char* key, std::string_view where) {
  INTERNVL_CHECK(root.contains(key), where, "missing required field '", key, "'");
  const nlohmann::json& j = root.at(key);
  INTERNVL_CHECK(j.is_object(), where, "field '", key, "' must be a JSON object, got ", describe(j));
  return j;
}

inline int int_field(const nlohmann::json& root, const char* key, int fallback, std::string_view where) {
  int v = fallback;
  if (root.contains(key) && !root.at(key).is_null()) {
    read_value(root.at(key), v, key, where);
  }
  return v;
}

}  // namespace detail

// transformers' LlamaConfig defaults, which absent qllama_config fields take (as the official code's
// LlamaConfig(**qllama_config) does); the InternVL-level fields keep QLLaMA's values.
inline constexpr QLlamaConfig kLlamaConfigDefaults{.vocab_size = 32000};

// The LlamaConfig part of a "qllama_config" object; `where` names the file (and object) in errors.
inline QLlamaConfig qllama_config_from_json(const nlohmann::json& j, std::string_view where) {
  INTERNVL_CHECK(j.is_object(), where, "qllama_config must be a JSON object");
  for (std::string_view field : detail::kLlamaRequired) {
    INTERNVL_CHECK(j.contains(std::string(field)) && !j.at(std::string(field)).is_null(), where,
                   "missing required field '", field, "'");
  }
  QLlamaConfig c = kLlamaConfigDefaults;
  detail::read_fields(j, c, detail::kLlamaFields, where);
  INTERNVL_CHECK(
      c.rope_theta == 10000.0, where, "field 'rope_theta' is ", c.rope_theta,
      "; QLLaMA's modeling code always rotates with base 10000, so this file is refused rather than guessed");
  INTERNVL_CHECK(!j.contains("rope_scaling") || j.at("rope_scaling").is_null(), where, "field 'rope_scaling' is set (",
                 detail::describe(j.at("rope_scaling")), "); QLLaMA's modeling code does not scale RoPE");
  const std::string_view bad = invalid_field(c);
  INTERNVL_CHECK(bad.empty(), where, "field '", bad, "' has an impossible value (hidden_size ", c.hidden_size,
                 ", num_attention_heads ", c.num_attention_heads, ", vocab_size ", c.vocab_size, ")");
  return c;
}

// The whole InternVL config of a model directory's config.json; `where` names the file in errors.
inline InternVLConfig internvl_config_from_json(const nlohmann::json& root, std::string_view where) {
  INTERNVL_CHECK(root.is_object(), where, "config must be a JSON object");
  const std::string file(where);
  detail::object_field(root, "vision_config", where);
  InternVLConfig c;
  c.vision_config = vision_config_from_json(root, file + " (vision_config)");
  c.qllama_config =
      qllama_config_from_json(detail::object_field(root, "qllama_config", where), file + " (qllama_config)");
  detail::read_fields(root, c, detail::kInternVLFields, where);
  c.qllama_config.num_query_token = detail::int_field(root, "num_query_token", 96, where);
  c.qllama_config.cross_attention_frequency = detail::int_field(root, "cross_attention_frequency", 2, where);
  c.qllama_config.vision_hidden_size = c.vision_config.hidden_size;
  const std::string_view bad = invalid_field(c);
  INTERNVL_CHECK(bad != "use_backbone_lora" && bad != "use_qllama_lora", where, "field '", bad, "' is ",
                 bad == "use_backbone_lora" ? c.use_backbone_lora : c.use_qllama_lora,
                 ": LoRA-wrapped checkpoints are not supported (merge the LoRA weights into the model first)");
  INTERNVL_CHECK(bad.empty(), where, "field '", bad == "qllama_config" ? "num_query_token" : bad,
                 "' has an impossible value (num_query_token ", c.qllama_config.num_query_token,
                 ", cross_attention_frequency ", c.qllama_config.cross_attention_frequency, ", attn_pool_num_heads ",
                 c.attn_pool_num_heads, ", clip_embed_dim ", c.clip_embed_dim, ", force_image_size ",
                 c.force_image_size, ")");
  return c;
}

// The config as the official config.json writes it (num_query_token and cross_attention_frequency
// at the top level and repeated in qllama_config, as InternVLConfig.to_dict does).
inline nlohmann::json to_json(const QLlamaConfig& c) {
  nlohmann::json j = nlohmann::json::object();
  for_each_field(c, [&](std::string_view field, const auto& value) {
    using T = std::remove_cvref_t<decltype(value)>;
    if (field == "vision_hidden_size") {
      return;  // not a config.json field: vision_config.hidden_size
    }
    if constexpr (std::is_enum_v<T>) {
      j[std::string(field)] = std::string(name_of(value));
    } else {
      j[std::string(field)] = value;
    }
  });
  return j;
}

inline nlohmann::json to_json(const InternVLConfig& c) {
  nlohmann::json j = {{"model_type", "internvl"},
                      {"vision_config", to_json(c.vision_config)},
                      {"qllama_config", to_json(c.qllama_config)},
                      {"clip_embed_dim", c.clip_embed_dim},
                      {"attn_pool_num_heads", c.attn_pool_num_heads},
                      {"num_query_token", c.qllama_config.num_query_token},
                      {"cross_attention_frequency", c.qllama_config.cross_attention_frequency},
                      {"force_image_size", nullptr},
                      {"use_backbone_lora", c.use_backbone_lora},
                      {"use_qllama_lora", c.use_qllama_lora}};
  if (c.force_image_size != 0) {
    j["force_image_size"] = c.force_image_size;
  }
  return j;
}

}  // namespace internvl::config
