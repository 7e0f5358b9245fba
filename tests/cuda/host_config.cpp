// config.json parsing for the CUDA tests (host compiler: Boost.Hana).
#include "host_config.hpp"

#include "internvl/config/internvl_json.hpp"
#include "internvl/models/load_intern_vit.hpp"

namespace internvl::testing {

config::VisionConfig vision_config_of(const io::ModelDir& dir) { return models::read_vision_config(dir); }

config::InternVLConfig internvl_config_of(const io::ModelDir& dir) {
  return config::internvl_config_from_json(dir.config(), (dir.path() / "config.json").string());
}

}  // namespace internvl::testing
