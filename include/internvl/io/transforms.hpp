// torchvision's geometric transforms on PIL images, as InternVL's evaluation code composes them.
//   resized_shorter_side: Resize(s): the shorter side becomes s, the longer int(s·long/short) (truncated);
//                         an image already of that size is returned unchanged.
//   center_crop_offset:   CenterCrop: offset int(round((size − crop) / 2)), Python's round (half to even);
//                         a crop larger than the image pads it with zeros, (crop − size) // 2 before.
//                         CropRounding::floor gives transformers' center_crop instead (CLIPImageProcessor):
//                         offset (size − crop) // 2, one sample less where that margin is 3 mod 4.
// The resampling itself is Pillow's bicubic (resize_bicubic.hpp).
#pragma once

#include <cmath>

#include "internvl/core/error.hpp"
#include "internvl/io/pixels.hpp"
#include "internvl/io/resize_bicubic.hpp"

namespace internvl::io {

// The output size of torchvision's Resize(s) for an image of the given size.
inline ImageSize resized_shorter_side(ImageSize image, index_t s) {
  INTERNVL_CHECK(s > 0 && image.width > 0 && image.height > 0, "io::resized_shorter_side",
                 "sizes must be positive (image ", image, ", shorter side ", s, ")");
  const bool portrait = image.width <= image.height;
  const index_t shorter = portrait ? image.width : image.height;
  const index_t longer = portrait ? image.height : image.width;
  const auto new_longer = static_cast<index_t>(static_cast<double>(s * longer) / static_cast<double>(shorter));
  return portrait ? ImageSize{s, new_longer} : ImageSize{new_longer, s};
}

// torchvision Resize(s, interpolation=BICUBIC) on a PIL image.
inline Image resize_shorter_side(ImageView image, index_t s, PillowPassOrder order = PillowPassOrder::horizontal_first) {
  const ImageSize target = resized_shorter_side(size_of(image), s);
  return resize_bicubic_pillow(image, target.width, target.height, order);
}

// How a centred crop's offset rounds half a sample: torchvision's CenterCrop (Python's round, half to even)
// or transformers' center_crop (floor).
enum class CropRounding { half_to_even, floor };

// Where a centred crop of `crop` samples starts in an axis of `size` samples (negative: zero padding first).
inline index_t center_crop_offset(index_t size, index_t crop, CropRounding rounding = CropRounding::half_to_even) {
  if (crop > size) {
    return -((crop - size) / 2);
  }
  const index_t margin = size - crop;
  const index_t half = margin / 2;
  const bool round_up = rounding == CropRounding::half_to_even && margin % 2 == 1 && half % 2 == 1;
  return round_up ? half + 1 : half;
}

// torchvision CenterCrop((height, width)) on a PIL image (or, with CropRounding::floor, transformers'
// center_crop where the crop fits).
inline Image center_crop(ImageView image, ImageSize crop, CropRounding rounding = CropRounding::half_to_even) {
  INTERNVL_CHECK(crop.width > 0 && crop.height > 0, "io::center_crop", "crop size must be positive, got ", crop);
  const ImageSize in = size_of(image);
  const index_t channels = image.size(2);
  const index_t top = center_crop_offset(in.height, crop.height, rounding);
  const index_t left = center_crop_offset(in.width, crop.width, rounding);
  Image out = make_image(crop, channels);
  for (index_t y = 0; y < crop.height; ++y) {
    for (index_t x = 0; x < crop.width; ++x) {
      const index_t sy = y + top;
      const index_t sx = x + left;
      const bool inside = sy >= 0 && sy < in.height && sx >= 0 && sx < in.width;
      for (index_t c = 0; c < channels; ++c) {
        out(y, x, c) = inside ? image(sy, sx, c) : std::uint8_t{0};
      }
    }
  }
  return out;
}

}  // namespace internvl::io
