// Label masks of segmentation datasets: a PNG whose pixels are the labels, read as [height, width] the
// way numpy reads Pillow's image of it (np.asarray(Image.open(path))):
//   8-bit greyscale   the grey values (ADE20K's annotations, Cityscapes' trainIds)
//   8-bit palette     the palette indices, not their colours (Pascal VOC's annotations, Pillow mode "P",
//                     segment's own masks, io/palette_png.hpp)
// An 8-bit palette PNG stores its indices exactly as an 8-bit grey PNG stores its values, so it is
// decoded as the same file with colour type 0 and neither PLTE nor tRNS. A mask in colour, with alpha,
// or of another bit depth is an error naming the file and its PNG colour type and depth: converting it
// to grey would turn colours into labels without a word.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "internvl/core/error.hpp"
#include "internvl/io/image.hpp"
#include "internvl/io/mapped_file.hpp"
#include "internvl/io/png_chunks.hpp"

namespace internvl::io {

namespace detail {

// The chunks of an 8-bit palette PNG with the header's colour type set to 0 (grey; its CRC recomputed)
// and the PLTE and tRNS chunks left out: a grey PNG whose values are the indices.
inline std::vector<std::uint8_t> palette_png_as_grey(std::span<const std::uint8_t> bytes, const std::string& name) {
  constexpr std::size_t kSignature = 8, kColourType = 8 + 9;  // within IHDR's chunk: length, type, 9 bytes of data
  std::vector<std::uint8_t> grey(bytes.begin(), bytes.begin() + kSignature);
  for_each_png_chunk(bytes, name, [&](std::string_view type, std::size_t at, std::uint32_t length) {
    if (type == "PLTE" || type == "tRNS") {
      return;
    }
    const std::size_t start = grey.size();
    grey.insert(grey.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at),
                bytes.begin() + static_cast<std::ptrdiff_t>(at + 12 + length));
    if (type == "IHDR") {
      INTERNVL_CHECK(length == 13, name, "PNG's IHDR chunk holds ", length, " bytes, not 13");
      grey[start + kColourType] = 0;
      write_u32_be(grey, start + 8 + length, png_crc(std::span(grey).subspan(start + 4, 4 + length)));
    }
  });
  return grey;
}

}  // namespace detail

// Decodes a label mask held in memory; `name` (usually the file path) is used in errors.
inline Tensor<std::uint8_t, 2> decode_label_mask(std::span<const std::uint8_t> bytes, const std::string& name) {
  INTERNVL_CHECK(sniff_image_format(bytes) == ImageFormat::png, name, "a label mask must be a PNG file");
  // The IHDR chunk comes first: 8 signature bytes, length (13) and type (8), width and height (8), then
  // the bit depth and the colour type (0: greyscale, 3: palette).
  constexpr std::size_t kBitDepth = 24, kColourType = 25;
  constexpr std::uint8_t kIhdr[] = {0, 0, 0, 13, 'I', 'H', 'D', 'R'};
  INTERNVL_CHECK(bytes.size() > kColourType, name, "PNG is truncated before its header's colour type");
  INTERNVL_CHECK(std::equal(std::begin(kIhdr), std::end(kIhdr), bytes.begin() + 8), name,
                 "PNG does not start with a 13-byte IHDR chunk");
  const int colour_type = bytes[kColourType];
  INTERNVL_CHECK((colour_type == 0 || colour_type == 3) && bytes[kBitDepth] == 8, name,
                 "a label mask must be an 8-bit greyscale or palette PNG (pixel value or palette index = label); "
                 "this one has colour type ",
                 colour_type, " (0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA) and ",
                 static_cast<int>(bytes[kBitDepth]), "-bit samples");
  const Image grey_as_rgb =  // the grey value in every channel
      colour_type == 0 ? decode_image(bytes, name) : decode_image(detail::palette_png_as_grey(bytes, name), name);
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
