// write_palette_png: a class-index mask [H, W, 1] as an 8-bit palette PNG (colour type 3), the format of
// segmentation masks (Pillow mode "P"): each pixel stores its class index k, and the PLTE chunk gives
// class k its colour, so viewers show colours while Pillow, numpy and mmseg read back the indices.
// The scanlines are encoded by stb_image_write as 8-bit grey, which filters and deflates exactly the
// same bytes; the header is then changed to colour type 3 (its CRC recomputed) and the PLTE chunk is
// inserted before the image data (PNG spec §11.2.2-3). Refuses indices without a colour (decoders would).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "internvl/core/error.hpp"
#include "internvl/io/image.hpp"
#include "internvl/io/png_chunks.hpp"
#include "internvl/io/write_file.hpp"

namespace internvl::io {

using PaletteColour = std::array<std::uint8_t, 3>;

inline void write_palette_png(const std::string& path, ImageView indices, std::span<const PaletteColour> palette) {
  const index_t height = indices.size(0), width = indices.size(1);
  INTERNVL_CHECK(indices.size(2) == 1, path, "a palette PNG holds one index per pixel, got ", indices.size(2),
                 " channels");
  INTERNVL_CHECK(!palette.empty() && palette.size() <= 256, path, "a palette holds 1 to 256 colours, got ",
                 palette.size());
  check_png_size(path, width, height, 1);
  std::vector<std::uint8_t> dense;
  dense.reserve(static_cast<std::size_t>(indices.numel()));
  for_each_element(indices, [&](std::uint8_t v) {
    INTERNVL_CHECK(v < palette.size(), path, "class index ", int{v}, " has no colour in a palette of ", palette.size());
    dense.push_back(v);
  });

  // signature (8 bytes), IHDR chunk (12 + 13 bytes), ..., IDAT, IEND
  std::vector<std::uint8_t> png = encode_png(dense.data(), width, height, 1, path);
  constexpr std::size_t kIhdr = 8, kIhdrEnd = kIhdr + 12 + 13, kColourType = kIhdr + 8 + 9;
  INTERNVL_CHECK(png.size() > kIhdrEnd && std::string(png.begin() + 12, png.begin() + 16) == "IHDR", path,
                 "stb_image_write produced no PNG header to turn into a palette PNG");
  png[kColourType] = 3;
  detail::write_u32_be(png, kIhdrEnd - 4, png_crc(std::span(png).subspan(kIhdr + 4, 4 + 13)));

  std::vector<std::uint8_t> plte(12 + 3 * palette.size());
  detail::write_u32_be(plte, 0, static_cast<std::uint32_t>(3 * palette.size()));
  plte[4] = 'P', plte[5] = 'L', plte[6] = 'T', plte[7] = 'E';
  for (std::size_t k = 0; k < palette.size(); ++k) {
    std::copy(palette[k].begin(), palette[k].end(), plte.begin() + 8 + static_cast<std::ptrdiff_t>(3 * k));
  }
  detail::write_u32_be(plte, plte.size() - 4, png_crc(std::span(plte).subspan(4, 4 + 3 * palette.size())));
  png.insert(png.begin() + kIhdrEnd, plte.begin(), plte.end());

  write_file(path, {std::as_bytes(std::span(png))});
}

}  // namespace internvl::io
