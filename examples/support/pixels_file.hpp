// read_pixel_batch: the --pixels input of the example programs, pixels already normalised in a .npy file:
// floating point [3, H, W] (one image) or [B, 3, H, W], returned as f32 [B, 3, H, W]. An array of
// integers (8-bit pixel values, say, which the preprocessing would have normalised), of another rank, of
// no image or holding a value that is not a finite number is an internvl::Error naming the file.
#pragma once

#include <cmath>
#include <string>

#include "internvl/io/npy.hpp"

namespace internvl::examples {

inline Tensor<float, 4> read_pixel_batch(const std::string& path) {
  io::NpyArray array = io::read_npy(path);
  INTERNVL_CHECK(array.descr == "<f4" || array.descr == "<f8" || array.descr == "<f2", path,
                 "pixels must be normalised floating-point values, got .npy dtype '", array.descr, "'");
  INTERNVL_CHECK(array.shape.size() == 3 || array.shape.size() == 4, path,
                 "pixels must be [3, H, W] or [B, 3, H, W], got rank ", array.shape.size());
  if (array.shape.size() == 3) {
    array.shape.insert(array.shape.begin(), 1);  // one image
  }
  INTERNVL_CHECK(array.shape[0] > 0, path, "the pixels hold no image (a batch of 0)");
  Tensor<float, 4> pixels = io::npy_to_f32<4>(array, path);
  for (index_t i = 0; i < pixels.numel(); ++i) {
    INTERNVL_CHECK(std::isfinite(pixels.data()[i]), path, "pixel value ", i, " (in C order) is ", pixels.data()[i],
                   ", not a finite number");
  }
  return pixels;
}

}  // namespace internvl::examples
