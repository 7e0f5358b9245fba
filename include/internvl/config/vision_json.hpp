// VisionConfig <-> config.json. Reads the original remote-code names (InternViT-6B / 300M checkpoints)
// and the transformers names (InternVLVisionConfig: attention_bias, use_qk_norm, [h, w] sizes), at the
// top level or under "vision_config" (chat checkpoints). Absent optional fields take the defaults of the
// naming scheme the file uses (remote code: the InternViT-6B values, e.g. no norm_type means RMSNorm;
// transformers: the InternViT-300M values). Impossible or mistyped values are errors naming the field.
#pragma once

#include <nlohmann/json.hpp>

#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "internvl/config/reflect.hpp"
#include "internvl/core/error.hpp"

namespace internvl::config {

namespace detail {

inline std::string describe(const nlohmann::json& v) { return v.dump(); }

inline void read_value(const nlohmann::json& v, int& out, std::string_view field, std::string_view where) {
  const nlohmann::json* scalar = &v;
  if (v.is_array() && (field == "image_size" || field == "patch_size")) {  // transformers: [h, w]
    INTERNVL_CHECK(v.size() == 2 && v[0] == v[1], where, "field '", field, "' must be square, got ", describe(v));
    scalar = &v[0];
  }
  INTERNVL_CHECK(scalar->is_number_integer(), where, "field '", field, "' must be an integer, got ", describe(v));
  const bool in_range = scalar->is_number_unsigned()
                            ? scalar->get<std::uint64_t>() <= std::uint64_t{INT_MAX}
                            : scalar->get<std::int64_t>() >= INT_MIN && scalar->get<std::int64_t>() <= INT_MAX;
  INTERNVL_CHECK(in_range, where, "field '", field, "' is out of range, got ", describe(v));
  out = scalar->get<int>();
}
inline void read_value(const nlohmann::json& v, bool& out, std::string_view field, std::string_view where) {
  INTERNVL_CHECK(v.is_boolean(), where, "field '", field, "' must be true or false, got ", describe(v));
  out = v.get<bool>();
}
inline void read_value(const nlohmann::json& v, double& out, std::string_view field, std::string_view where) {
  INTERNVL_CHECK(v.is_number(), where, "field '", field, "' must be a number, got ", describe(v));
  out = v.get<double>();
}
inline void read_value(const nlohmann::json& v, Norm& out, std::string_view field, std::string_view where) {
  const std::string s = v.is_string() ? v.get<std::string>() : "";
  INTERNVL_CHECK(s == "rms_norm" || s == "layer_norm", where, "field '", field,
                 "' must be \"rms_norm\" or \"layer_norm\", got ", describe(v));
  out = s == "rms_norm" ? Norm::rms_norm : Norm::layer_norm;
}
inline void read_value(const nlohmann::json& v, HiddenAct& out, std::string_view field, std::string_view where) {
  INTERNVL_CHECK(v.is_string() && v.get<std::string>() == "gelu", where, "field '", field,
                 "' must be \"gelu\" (the only activation InternViT uses), got ", describe(v));
  out = HiddenAct::gelu;
}

// The JSON key that holds a field under the transformers naming scheme.
inline std::string_view transformers_key(std::string_view field) {
  if (field == "qkv_bias") return "attention_bias";
  if (field == "qk_normalization") return "use_qk_norm";
  return field;
}

inline constexpr std::string_view kRequired[] = {"hidden_size", "num_attention_heads", "num_hidden_layers",
                                                 "intermediate_size"};

}  // namespace detail

// The defaults of the transformers naming scheme (InternVLVisionConfig's constructor defaults).
inline constexpr VisionConfig kTransformersVisionDefaults{.image_size = 448,
                                                          .hidden_size = 1024,
                                                          .intermediate_size = 4096,
                                                          .num_attention_heads = 16,
                                                          .num_hidden_layers = 24,
                                                          .qkv_bias = false,
                                                          .qk_normalization = false,
                                                          .norm_type = Norm::layer_norm};

inline bool uses_transformers_names(const nlohmann::json& j) {
  return j.value("model_type", "") == "internvl_vision" || j.contains("use_qk_norm") || j.contains("attention_bias");
}

// `where` names the file in error messages.
inline VisionConfig vision_config_from_json(const nlohmann::json& root, std::string_view where) {
  INTERNVL_CHECK(root.is_object(), where, "config must be a JSON object");
  const nlohmann::json& j = root.contains("vision_config") ? root.at("vision_config") : root;
  INTERNVL_CHECK(j.is_object(), where, "field 'vision_config' must be a JSON object");
  const bool transformers = uses_transformers_names(j);
  VisionConfig c = transformers ? kTransformersVisionDefaults : VisionConfig{};
  for (std::string_view field : detail::kRequired) {
    INTERNVL_CHECK(j.contains(std::string(field)) && !j.at(std::string(field)).is_null(), where,
                   "missing required field '", field, "'");
  }
  for_each_field(c, [&](std::string_view field, auto& value) {
    const std::string key(transformers ? detail::transformers_key(field) : field);
    if (j.contains(key) && !j.at(key).is_null()) {
      detail::read_value(j.at(key), value, key, where);
    }
  });
  const std::string_view bad = invalid_field(c);
  INTERNVL_CHECK(bad.empty(), where, "field '", bad, "' has an impossible value (hidden_size ", c.hidden_size,
                 ", num_attention_heads ", c.num_attention_heads, ", image_size ", c.image_size, ", patch_size ",
                 c.patch_size, ")");
  return c;
}

// The config as a remote-code config.json object (the names the original checkpoints use).
inline nlohmann::json to_json(const VisionConfig& c) {
  nlohmann::json j = nlohmann::json::object();
  for_each_field(c, [&](std::string_view field, const auto& value) {
    using T = std::remove_cvref_t<decltype(value)>;
    if constexpr (std::is_enum_v<T>) {
      j[std::string(field)] = std::string(name_of(value));
    } else {
      j[std::string(field)] = value;
    }
  });
  return j;
}

}  // namespace internvl::config
