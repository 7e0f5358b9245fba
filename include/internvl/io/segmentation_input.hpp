// MMSegmentation's test-time input for InternViT segmentation on ADE20K (facts 6.3), single scale, no flip:
//   0. the image file is read as OpenCV reads it (LoadImageFromFile; io::Decoder::opencv, decoder.hpp):
//      turned as its EXIF orientation says, which Pillow, and so the other tasks' inputs, do not;
//   1. SETR_Resize (setr_multi_scale, crop 504) + mmcv.imrescale: the shorter side goes to 504; in Python floats,
//      scale = min((504·long/short) / long, 504 / short), new side = int(side·scale + 0.5);
//   2. ResizeToMultiple(14): each side rounded up to a multiple of 14;
//      both resizes are cv2.resize INTER_LINEAR (resize_bilinear.hpp), a no-op when the size does not change;
//   3. Normalize(mean 123.675, 116.28, 103.53; std 58.395, 57.12, 57.375) on RGB, mmcv's float32 arithmetic.
// Output [3, H', W'] with H', W' multiples of 14, the shorter about 504; slide inference (504 windows) follows.
#pragma once

#include <algorithm>
#include <string>

#include "internvl/core/error.hpp"
#include "internvl/io/image.hpp"
#include "internvl/io/normalize.hpp"
#include "internvl/io/resize_bilinear.hpp"

namespace internvl::io {

struct SegmentationResize {
  index_t short_side = 504;   // the crop size of every released InternViT-6B segmentation config
  index_t size_divisor = 14;  // the patch size
};

// Step 1's output size, with Python's float arithmetic step by step.
inline ImageSize setr_rescaled_size(ImageSize image, index_t short_side) {
  INTERNVL_CHECK(image.width > 0 && image.height > 0 && short_side > 0, "io::setr_rescaled_size",
                 "sizes must be positive (image ", image, ", short side ", short_side, ")");
  const auto w = static_cast<double>(image.width);
  const auto h = static_cast<double>(image.height);
  const auto s = static_cast<double>(short_side);
  // SETR_Resize: scale = (new_h, new_w) with the longer side s·long/short (a float), the shorter s.
  const double new_h = image.height > image.width ? s * h / w : s;
  const double new_w = image.height > image.width ? s : s * w / h;
  // mmcv.rescale_size: the largest factor that keeps the image within (max_long, max_short).
  const double max_long = std::max(new_h, new_w);
  const double max_short = std::min(new_h, new_w);
  const double factor = std::min(max_long / std::max(h, w), max_short / std::min(h, w));
  return {static_cast<index_t>(w * factor + 0.5), static_cast<index_t>(h * factor + 0.5)};
}

// Step 2's output size: each side rounded up to a multiple of the divisor.
inline ImageSize round_up_to_multiple(ImageSize size, index_t divisor) {
  INTERNVL_CHECK(divisor > 0, "io::round_up_to_multiple", "divisor must be positive, got ", divisor);
  return {(size.width + divisor - 1) / divisor * divisor, (size.height + divisor - 1) / divisor * divisor};
}

// The size of the image steps 1 and 2 make from one of `image`'s size.
inline ImageSize segmentation_input_size(ImageSize image, const SegmentationResize& options = {}) {
  return round_up_to_multiple(setr_rescaled_size(image, options.short_side), options.size_divisor);
}

// Steps 1 and 2 on 8-bit pixels.
inline Image segmentation_resize(ImageView image, const SegmentationResize& options = {}) {
  const ImageSize rescaled = setr_rescaled_size(size_of(image), options.short_side);
  const Image first = resize_bilinear_opencv(image, rescaled.width, rescaled.height);
  const ImageSize padded = round_up_to_multiple(rescaled, options.size_divisor);
  return resize_bilinear_opencv(first.view(), padded.width, padded.height);
}

// All three steps: [3, H', W'].
inline Tensor<float, 3> segmentation_input(ImageView image, const SegmentationResize& options = {}) {
  return normalize_to_chw(segmentation_resize(image, options).view(), mmseg_normalization());
}

// Reads an image file as OpenCV does (turned as its EXIF says) into the [1, 3, H', W'] segmentation input.
inline Tensor<float, 4> load_segmentation_input(const std::string& path, const SegmentationResize& options = {}) {
  return preprocess_file(
      path,
      [&](ImageView image) {
        const Image pixels = segmentation_resize(image, options);
        Tensor<float, 4> batch(Extents<4>{1, 3, pixels.size(0), pixels.size(1)});
        normalize_to_chw(batch.view()[0], pixels.view(), mmseg_normalization());
        return batch;
      },
      Decoder::opencv);
}

}  // namespace internvl::io
