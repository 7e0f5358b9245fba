// The inputs the InternVL examples share: images (files through a preprocessing pipeline, or ready
// pixels from a .npy file) and the embedding mode flag (--backend and --precision, and the error handler,
// are support/backend.hpp's).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "internvl/io/preprocess.hpp"
#include "internvl/models/internvl.hpp"
#include "support/backend.hpp"
#include "support/cli.hpp"
#include "support/pixels_file.hpp"

namespace internvl::examples {

// --mode C|G (default C).
inline models::EmbeddingMode embedding_mode(const Cli& cli) {
  const std::string mode = cli.get("--mode").value_or("C");
  if (mode != "C" && mode != "G") {
    cli.fail("--mode must be C or G, got '" + mode + "'");
  }
  return mode == "C" ? models::EmbeddingMode::C : models::EmbeddingMode::G;
}

// Normalised pixels [B, 3, H, W]: the --image files in argument order through `pipeline` at `size`,
// or the --pixels .npy file ([3, H, W] or [B, 3, H, W], already normalised).
inline Tensor<float, 4> read_pixels(const Cli& cli, io::Pipeline pipeline, index_t size) {
  if (cli.has("--image") && cli.has("--pixels")) {
    cli.fail("give --image or --pixels, not both");
  }
  if (cli.has("--image")) {
    return io::load_batch(cli.all("--image"), pipeline, size);
  }
  return read_pixel_batch(cli.require("--pixels"));
}

}  // namespace internvl::examples
