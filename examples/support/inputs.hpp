// The inputs the InternVL examples share: images (files through a preprocessing pipeline, or ready
// pixels from a .npy file), the embedding mode flag (--backend and --precision are support/backend.hpp's),
// and an error handler that turns internvl::Error into a message and exit status 1 (bad usage exits with
// 2, from Cli).
#pragma once

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "internvl/io/npy.hpp"
#include "internvl/io/preprocess.hpp"
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

// Normalised pixels [B, 3, H, W]: the --image files in argument order through `pipeline` at `size`,
// or the --pixels .npy file ([3, H, W] or [B, 3, H, W], already normalised).
inline Tensor<float, 4> read_pixels(const Cli& cli, io::Pipeline pipeline, index_t size) {
  if (cli.has("--image") && cli.has("--pixels")) {
    cli.fail("give --image or --pixels, not both");
  }
  if (cli.has("--image")) {
    return io::load_batch(cli.all("--image"), pipeline, size);
  }
  const std::string path = cli.require("--pixels");
  const io::NpyArray array = io::read_npy(path);
  if (array.shape.size() == 3) {
    const auto image = io::read_npy_f32<3>(path);
    Tensor<float, 4> batch(Extents<4>{1, image.size(0), image.size(1), image.size(2)});
    std::copy_n(image.data(), image.numel(), batch.data());
    return batch;
  }
  INTERNVL_CHECK(array.shape.size() == 4, path, "pixels must be [3, H, W] or [B, 3, H, W], got rank ",
                 array.shape.size());
  return io::read_npy_f32<4>(path);
}

// Runs body(); an internvl::Error becomes "error: <message>" on stderr and exit status 1.
template <class Body>
int run_reporting_errors(Body&& body) {
  try {
    body();
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

}  // namespace internvl::examples
