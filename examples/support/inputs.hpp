// The embedding mode flag the InternVL examples share (their images are support/image_batches.hpp's;
// --backend and --precision, and the error handler, are support/backend.hpp's).
#pragma once

#include <string>

#include "internvl/models/internvl.hpp"
#include "support/backend.hpp"
#include "support/cli.hpp"

namespace internvl::examples {

// --mode C|G (default C).
inline models::EmbeddingMode embedding_mode(const Cli& cli) {
  const std::string mode = cli.get("--mode").value_or("C");
  if (mode != "C" && mode != "G") {
    cli.fail("--mode must be C or G, got '" + mode + "'");
  }
  return mode == "C" ? models::EmbeddingMode::C : models::EmbeddingMode::G;
}

}  // namespace internvl::examples
