// Loading an InternVL-C/G model directory in one call: config.json is parsed (config/internvl_json.hpp),
// matched against the compiled presets or checked against the one asked for, and the weights are
// loaded (models/internvl_loader.hpp). Host code only: config parsing uses Boost.Hana.
#pragma once

#include <memory>
#include <string>

#include "internvl/config/internvl_json.hpp"
#include "internvl/models/internvl_loader.hpp"

namespace internvl::models {

// The InternVL config of a directory's config.json.
inline config::InternVLConfig read_internvl_config(const io::ModelDir& dir) {
  return config::internvl_config_from_json(dir.config(), (dir.path() / "config.json").string());
}

// Loads a directory as the compiled Preset (its config.json must describe exactly that model) or,
// with presets::Dynamic, as whatever its config.json describes.
template <class Preset, class Backend, class T = default_activation_t<Backend>>
InternVL<Preset, Backend, T> load_internvl(const std::string& path) {
  auto dir = std::make_shared<const io::ModelDir>(path);
  const config::InternVLConfig c = read_internvl_config(*dir);
  if constexpr (!presets::is_dynamic_v<Preset>) {
    const auto diff = config::differences(c, Preset::value);
    INTERNVL_CHECK(diff.empty(), path, "config.json does not describe ", Preset::name, " (", diff.front(),
                   diff.size() > 1 ? ", ..." : "", "); load it with presets::Dynamic or the matching preset");
  }
  return InternVL<Preset, Backend, T>(load_internvl_model<Backend, T>(std::move(dir), c));
}

// Loads a directory with the compiled preset its config.json matches (or presets::Dynamic) and calls
// fn(model), where model is an InternVL<Preset, Backend, T>&.
template <class Backend, class T = default_activation_t<Backend>, class Fn>
decltype(auto) with_internvl(const std::string& path, Fn&& fn) {
  auto dir = std::make_shared<const io::ModelDir>(path);
  const config::InternVLConfig c = read_internvl_config(*dir);
  return visit_internvl<Backend, T>(std::move(dir), c, std::forward<Fn>(fn));
}

}  // namespace internvl::models
