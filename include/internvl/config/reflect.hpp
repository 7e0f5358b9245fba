// Field-by-field reflection of the config aggregates through Boost.Hana, for host code only
// (config.json parsing and comparison, `info` printing, the configs/*.json test). Never include
// this from CUDA translation units: nvcc is not a supported Hana compiler.
#pragma once

#include <boost/hana/accessors.hpp>
#include <boost/hana/adapt_struct.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "internvl/config/internvl.hpp"
#include "internvl/config/qllama.hpp"
#include "internvl/config/vision.hpp"

BOOST_HANA_ADAPT_STRUCT(internvl::config::VisionConfig, num_channels, patch_size, image_size, hidden_size,
                        intermediate_size, num_attention_heads, num_hidden_layers, qkv_bias, qk_normalization,
                        norm_type, layer_norm_eps, hidden_act);

BOOST_HANA_ADAPT_STRUCT(internvl::config::QLlamaConfig, vocab_size, hidden_size, intermediate_size, num_hidden_layers,
                        num_attention_heads, rms_norm_eps, rope_theta, hidden_act, tie_word_embeddings, num_query_token,
                        cross_attention_frequency, vision_hidden_size);

BOOST_HANA_ADAPT_STRUCT(internvl::config::InternVLConfig, vision_config, qllama_config, clip_embed_dim,
                        attn_pool_num_heads, force_image_size, use_backbone_lora, use_qllama_lora);

namespace internvl::config {

// True for the reflected config aggregates (the nested ones of InternVLConfig included).
template <class T>
inline constexpr bool is_reflected_v =
    std::is_same_v<T, VisionConfig> || std::is_same_v<T, QLlamaConfig> || std::is_same_v<T, InternVLConfig>;

// Calls fn(name, field) for every field of a reflected config, in declaration order; `field` is a
// reference into `c` (const or not, as `c` is).
template <class Config, class Fn>
void for_each_field(Config& c, Fn&& fn) {
  boost::hana::for_each(boost::hana::accessors<std::remove_const_t<Config>>(), [&](auto pair) {
    fn(std::string_view(boost::hana::to<const char*>(boost::hana::first(pair))), boost::hana::second(pair)(c));
  });
}

// Calls fn(name, field_of_a, field_of_b) for every field of two configs of the same type.
template <class Config, class Fn>
void for_each_field_pair(const Config& a, const Config& b, Fn&& fn) {
  boost::hana::for_each(boost::hana::accessors<Config>(), [&](auto pair) {
    const auto& get = boost::hana::second(pair);
    fn(std::string_view(boost::hana::to<const char*>(boost::hana::first(pair))), get(a), get(b));
  });
}

// A field value as config.json would spell it ("true", "rms_norm", "1e-06").
template <class T>
std::string value_string(const T& v) {
  std::ostringstream out;
  if constexpr (std::is_same_v<T, bool>) {
    out << (v ? "true" : "false");
  } else if constexpr (std::is_enum_v<T>) {
    out << name_of(v);
  } else {
    out << v;
  }
  return out.str();
}

// "num_hidden_layers: 48 vs 45", one entry per field that differs; nested configs name their fields
// with the path ("qllama_config.hidden_size: 4096 vs 8").
template <class Config>
std::vector<std::string> differences(const Config& a, const Config& b, const std::string& prefix = "") {
  std::vector<std::string> out;
  for_each_field_pair(a, b, [&](std::string_view field, const auto& va, const auto& vb) {
    using T = std::remove_cvref_t<decltype(va)>;
    const std::string name = prefix + std::string(field);
    if constexpr (is_reflected_v<T>) {
      for (std::string& d : differences(va, vb, name + ".")) {
        out.push_back(std::move(d));
      }
    } else if (!(va == vb)) {
      out.push_back(name + ": " + value_string(va) + " vs " + value_string(vb));
    }
  });
  return out;
}

}  // namespace internvl::config
