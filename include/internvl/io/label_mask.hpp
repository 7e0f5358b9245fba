// Label masks of segmentation datasets (ADE20K's annotations, Cityscapes' trainIds): an 8-bit greyscale
// PNG whose pixel values are the labels, read as [height, width] the way numpy reads Pillow's image of it
// (np.asarray(Image.open(path))). A mask in colour, with a palette or alpha, or of another bit depth is an
// error naming the file and its PNG colour type and depth: converting it to grey would turn colours into
// labels without a word.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "internvl/core/error.hpp"
#include "internvl/io/image.hpp"
#include "internvl/io/mapped_file.hpp"

namespace internvl::io {

// Decodes a label mask held in memory; `name` (usually the file path) is used in errors.
inline Tensor<std::uint8_t, 2> decode_label_mask(std::span<const std::uint8_t> bytes, const std::string& name) {
  INTERNVL_CHECK(sniff_image_format(bytes) == ImageFormat::png, name, "a label mask must be a PNG file");
  // The IHDR chunk comes first: 8 signature bytes, length and type (8), width and height (8), then the
  // bit depth and the colour type (0: greyscale).
  constexpr std::size_t kBitDepth = 24, kColourType = 25;
  INTERNVL_CHECK(bytes.size() > kColourType, name, "PNG is truncated before its header's colour type");
  INTERNVL_CHECK(bytes[kColourType] == 0 && bytes[kBitDepth] == 8, name,
                 "a label mask must be an 8-bit greyscale PNG (pixel value = label); this one has colour type ",
                 static_cast<int>(bytes[kColourType]), " (0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA) and ",
                 static_cast<int>(bytes[kBitDepth]), "-bit samples");
  const Image grey_as_rgb = decode_image(bytes, name);  // the grey value in every channel
  Tensor<std::uint8_t, 2> labels(Extents<2>{grey_as_rgb.size(0), grey_as_rgb.size(1)});
  for (index_t i = 0; i < labels.numel(); ++i) {
    labels.data()[i] = grey_as_rgb.data()[3 * i];
  }
  return labels;
}

// Reads and decodes a label mask file.
inline Tensor<std::uint8_t, 2> read_label_mask(const std::string& path) {
  check_image_path(path);
  const MappedFile file(path);
  return decode_label_mask(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(file.bytes().data()), file.bytes().size()),
      path);
}

}  // namespace internvl::io
