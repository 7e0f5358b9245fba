// From a run-time config to a compiled preset: calls fn.template operator()<Preset>() with the first
// preset of a preset list whose config equals `c` field for field, or with presets::Dynamic when none
// does. Every call must return the same type.
//   visit_vision_preset   InternViT configs against presets::VisionPresets
//   visit_internvl_preset InternVL configs against presets::InternVLPresets
#pragma once

#include <tuple>
#include <utility>

#include "internvl/config/internvl_presets.hpp"
#include "internvl/config/presets.hpp"

namespace internvl::config {

namespace detail {

template <class Presets, std::size_t I, class Config, class Fn>
decltype(auto) visit_preset_from(const Config& c, Fn&& fn) {
  if constexpr (I == std::tuple_size_v<Presets>) {
    return fn.template operator()<presets::Dynamic>();
  } else {
    using Preset = std::tuple_element_t<I, Presets>;
    if (Preset::value == c) {
      return fn.template operator()<Preset>();
    }
    return visit_preset_from<Presets, I + 1>(c, std::forward<Fn>(fn));
  }
}

}  // namespace detail

template <class Fn>
decltype(auto) visit_vision_preset(const VisionConfig& c, Fn&& fn) {
  return detail::visit_preset_from<presets::VisionPresets, 0>(c, std::forward<Fn>(fn));
}

template <class Fn>
decltype(auto) visit_internvl_preset(const InternVLConfig& c, Fn&& fn) {
  return detail::visit_preset_from<presets::InternVLPresets, 0>(c, std::forward<Fn>(fn));
}

}  // namespace internvl::config
