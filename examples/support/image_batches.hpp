// ImageBatches: the images of a command line (--image FILE repeated and the paths listed in --images
// FILE, or one --pixels FILE.npy holding [B, 3, H, W]) handed out --batch at a time (support/batches.hpp).
// Image files are decoded when their batch comes, through `pipeline` at `size`; a --pixels file is read at
// once and sliced. Each image is named in the output by its file, or by its index in the --pixels batch.
#pragma once

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "internvl/io/preprocess.hpp"
#include "support/batches.hpp"
#include "support/cli.hpp"
#include "support/pixels_file.hpp"
#include "support/text_file.hpp"

namespace internvl::examples {

// Usage errors unless the command line gives images in one way: --image (repeatable) and --images FILE,
// or --pixels FILE.npy.
inline void check_image_input(const Cli& cli) {
  const bool files = cli.has("--image") || cli.has("--images");
  if (files == cli.has("--pixels")) {
    cli.fail("give the images with --image or --images, or with --pixels (one way, not both)");
  }
}

// The image files of the command line: each --image in argument order, then the lines of --images FILE
// (one path per line; blank lines are skipped). A listed path that names no file is an error naming the
// list's line.
inline std::vector<std::string> image_paths(const Cli& cli) {
  std::vector<std::string> paths = cli.all("--image");
  if (const auto list = cli.get("--images")) {
    std::size_t line_number = 0;
    for (std::string& line : read_lines(*list, "list of image files", Lines::bytes)) {
      ++line_number;
      if (line.empty()) {
        continue;
      }
      try {
        io::check_image_path(line);
      } catch (const Error& e) {
        fail(*list + ":" + std::to_string(line_number), e.where(), ": ", e.message());
      }
      paths.push_back(std::move(line));
    }
    INTERNVL_CHECK(!paths.empty(), *list, "the list of image files names no file");
  }
  return paths;
}

// Each path must name a file (io::check_image_path), checked before any model is loaded or any label
// encoded, so that a mistyped path is not found only when its turn comes; a file that does not decode
// still is.
inline void check_image_files(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    io::check_image_path(path);
  }
}

// With several images, each one's lines of output follow a header "# <image>": this prints image i's.
inline void print_image_header(const std::vector<std::string>& names, std::size_t i) {
  if (names.size() > 1) {
    std::printf("# %s\n", names[i].c_str());
  }
}

class ImageBatches {
 public:
  // `cli` holds --pixels or image files (--image, --images), not both (check_image_input).
  ImageBatches(const Cli& cli, io::Pipeline pipeline, index_t size, index_t batch)
      : ImageBatches(cli, image_paths(cli), pipeline, size, batch) {}

  // The same, with the command line's image files already read (`paths`: image_paths(cli)).
  ImageBatches(const Cli& cli, std::vector<std::string> paths, io::Pipeline pipeline, index_t size, index_t batch)
      : names_(std::move(paths)), pipeline_(pipeline), size_(size), batch_(batch) {
    check_image_files(names_);
    if (cli.has("--pixels")) {
      npy_pixels_ = read_pixel_batch(*cli.get("--pixels"));
      for (index_t b = 0; b < npy_pixels_.size(0); ++b) {
        names_.push_back(std::to_string(b));
      }
    }
  }

  ImageBatches(const ImageBatches&) = delete;  // batches() hands out a source that refers to this object
  ImageBatches& operator=(const ImageBatches&) = delete;

  index_t count() const { return static_cast<index_t>(names_.size()); }
  // Each image's name: its file as given, or its index in the --pixels batch.
  const std::vector<std::string>& names() const { return names_; }

  // The header of image i's lines (print_image_header).
  void print_header(index_t i) const { print_image_header(names_, static_cast<std::size_t>(i)); }

  // The batches, from the first image on; a batch stays valid until the next call.
  PixelBatches batches() {
    next_ = 0;
    return [this]() -> std::optional<CView<float, 4>> {
      if (next_ == count()) {
        return std::nullopt;
      }
      const index_t begin = next_;
      next_ = std::min(count(), begin + batch_);
      if (npy_pixels_.size(0) > 0) {
        return CView<float, 4>(npy_pixels_.view()).slice(0, begin, next_);
      }
      decoded_ = io::load_batch({names_.begin() + begin, names_.begin() + next_}, pipeline_, size_);
      return CView<float, 4>(decoded_.view());
    };
  }

 private:
  std::vector<std::string> names_;
  io::Pipeline pipeline_;
  index_t size_, batch_;
  Tensor<float, 4> npy_pixels_;  // [B, 3, H, W] of --pixels, or empty
  Tensor<float, 4> decoded_;     // the current batch of --image files
  index_t next_ = 0;
};

}  // namespace internvl::examples
