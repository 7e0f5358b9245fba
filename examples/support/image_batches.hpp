// ImageBatches: the images of a command line (--image FILE repeated, or one --pixels FILE.npy holding
// [B, 3, H, W]) handed out --batch at a time (support/batches.hpp). Image files are decoded when their
// batch comes, through `pipeline` at `size`; a --pixels file is read at once and sliced. Each image is
// named in the output by its file, or by its index in the --pixels batch.
#pragma once

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "internvl/io/preprocess.hpp"
#include "support/batches.hpp"
#include "support/cli.hpp"
#include "support/pixels_file.hpp"

namespace internvl::examples {

class ImageBatches {
 public:
  // `cli` holds exactly one of --image and --pixels (Cli::one_of).
  ImageBatches(const Cli& cli, io::Pipeline pipeline, index_t size, index_t batch)
      : names_(cli.all("--image")), pipeline_(pipeline), size_(size), batch_(batch) {
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

  // With several images, each one's lines of output follow a header "# <name>": this prints image i's.
  void print_header(index_t i) const {
    if (count() > 1) {
      std::printf("# %s\n", names_[static_cast<std::size_t>(i)].c_str());
    }
  }

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
