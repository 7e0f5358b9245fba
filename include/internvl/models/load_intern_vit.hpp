// Loading an InternViT model directory in one call: config.json is parsed (config/vision_json.hpp),
// matched against the compiled presets or checked against the one asked for, and the weights are
// loaded (models/vision_loader.hpp). Host code only: config parsing uses Boost.Hana.
#pragma once

#include <memory>
#include <string>

#include "internvl/config/preset_select.hpp"
#include "internvl/config/vision_json.hpp"
#include "internvl/models/vision_loader.hpp"

namespace internvl::models {

// The vision config of a directory: config.json's own fields or its "vision_config". In a directory of a
// whole InternVL model with "force_image_size" set, the vision model was built at that size, position
// table included (config::InternVLConfig::vision_model_config), and is read so.
inline config::VisionConfig read_vision_config(const io::ModelDir& dir) {
  const std::string path = (dir.path() / "config.json").string();
  config::VisionConfig c = config::vision_config_from_json(dir.config(), path);
  const nlohmann::json& j = dir.config();
  if (j.contains("vision_config") && j.contains("force_image_size") && !j["force_image_size"].is_null()) {
    const nlohmann::json& forced = j["force_image_size"];
    INTERNVL_CHECK(forced.is_number_integer() && forced.get<long long>() > 0 &&
                       forced.get<long long>() % c.patch_size == 0 && forced.get<long long>() <= 1 << 20,
                   path, "'force_image_size' must be a positive multiple of the patch size ", c.patch_size, ", got ",
                   forced.dump());
    c.image_size = forced.get<int>();
  }
  return c;
}

// Loads a directory as the compiled Preset (its config.json must describe exactly that model) or,
// with presets::Dynamic, as whatever its config.json describes.
template <class Preset, class Backend, class T = default_activation_t<Backend>>
InternViT<Preset, Backend, T> load_intern_vit(const std::string& path) {
  auto dir = std::make_shared<const io::ModelDir>(path);
  const config::VisionConfig c = read_vision_config(*dir);
  if constexpr (!presets::is_dynamic_v<Preset>) {
    const auto diff = config::differences(c, Preset::value);
    INTERNVL_CHECK(diff.empty(), path, "config.json does not describe ", Preset::name, " (", diff.front(),
                   diff.size() > 1 ? ", ..." : "", "); load it with presets::Dynamic or the matching preset");
  }
  return InternViT<Preset, Backend, T>(load_vision_encoder<Backend, T>(std::move(dir), c));
}

// Loads a directory with the compiled preset its config.json matches (or presets::Dynamic) and calls
// fn(model), where model is an InternViT<Preset, Backend, T>&.
template <class Backend, class T = default_activation_t<Backend>, class Fn>
decltype(auto) with_intern_vit(const std::string& path, Fn&& fn) {
  auto dir = std::make_shared<const io::ModelDir>(path);
  const config::VisionConfig c = read_vision_config(*dir);
  return visit_intern_vit<Backend, T>(std::move(dir), c, std::forward<Fn>(fn));
}

}  // namespace internvl::models
