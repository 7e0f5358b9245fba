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
#include <string_view>

#include "internvl/config/vision.hpp"

BOOST_HANA_ADAPT_STRUCT(internvl::config::VisionConfig, num_channels, patch_size, image_size, hidden_size,
                        intermediate_size, num_attention_heads, num_hidden_layers, qkv_bias, qk_normalization,
                        norm_type, layer_norm_eps, hidden_act);

namespace internvl::config {

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

}  // namespace internvl::config
