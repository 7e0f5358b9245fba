// What the CUDA tests need from host-only code: config.json parsing (Boost.Hana, which nvcc never
// sees), compiled by the host compiler in host_config.cpp.
#pragma once

#include "internvl/config/internvl.hpp"
#include "internvl/config/vision.hpp"
#include "internvl/io/model_dir.hpp"

namespace internvl::testing {

// The InternViT config of a model directory (config.json's fields or its "vision_config").
config::VisionConfig vision_config_of(const io::ModelDir& dir);

// The InternVL-C/G config of a model directory's config.json.
config::InternVLConfig internvl_config_of(const io::ModelDir& dir);

}  // namespace internvl::testing
