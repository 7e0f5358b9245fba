// EXIF orientation: how a camera says its stored pixels are to be turned for display. OpenCV's imread and
// imdecode apply it when they decode in colour (IMREAD_COLOR), and MMSegmentation reads its images so
// (LoadImageFromFile: mmcv.imfrombytes, flag 'color', cv2 backend); Pillow's Image.open does not, so the
// classification, zero-shot, embedding and captioning inputs keep the stored pixels and only the
// segmentation input turns them (segmentation_input.hpp, examples/segment.cpp).
//
// Where the EXIF is (as OpenCV 4.14 reads it): in a JPEG, the APP1 segments whose data begins "Exif\0\0",
// in order, until one holds the orientation; in a PNG, the first eXIf chunk that begins "II" or "MM" (the
// ones libpng keeps; image.hpp finds it while it checks the chunks). Either holds a TIFF structure:
//   byte order "II" (little-endian; anything else is read big-endian) | 42 | offset of IFD0  (2 + 2 + 4 bytes)
//   IFD0: entry count (2 bytes), then 12-byte entries: tag (2) | type (2) | count (4) | value (4)
// Orientation is IFD0's first entry with tag 0x0112; its value is the 16-bit number at byte 8 of the entry.
// For a stored image of H rows and W columns, the displayed pixel (r, c) is the stored pixel
//   1: (r, c)              as stored              5: (c, r)              transposed (W × H)
//   2: (r, W−1−c)          mirrored left-right     6: (H−1−c, r)          turned 90° clockwise (W × H)
//   3: (H−1−r, W−1−c)      turned 180°             7: (H−1−c, W−1−r)      transversed (W × H)
//   4: (H−1−r, c)          mirrored top-bottom     8: (c, W−1−r)          turned 90° counter-clockwise (W × H)
// Any other value leaves the image as stored, and so does an IFD0 that OpenCV stops reading before its
// orientation entry (entries before that point still count): one cut short, or one with an earlier entry
// whose data OpenCV reads from elsewhere in the EXIF and which lies outside it (opencv_entry_data).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <utility>

#include "internvl/io/pixels.hpp"

namespace internvl::io {

namespace detail {

// The bytes [first, first + size) of the TIFF structure that OpenCV 4.14 reads for an IFD0 entry besides
// the entry itself, given its tag, count and 32-bit value; none (size 0) for a tag it reads in place or
// ignores. Strings (0x010E description, 0x010F make, 0x0110 model, 0x0131 software, 0x0132 date and
// time, 0x8298 copyright): `count` bytes at the offset `value` when longer than 4 bytes, else at byte 8
// of the structure (OpenCV's reading, not TIFF's). Rationals of 8 bytes at the offset `value`: x and y
// resolution (0x011A, 0x011B) 1, white point (0x013E) 2, YCbCr coefficients (0x0211) 3, primary
// chromaticities (0x013F) and reference black and white (0x0214) 6. The type and count of a rational
// entry are not read.
struct ExifEntryData {
  std::size_t first = 0;
  std::size_t size = 0;
};

inline ExifEntryData opencv_entry_data(std::uint32_t tag, std::uint32_t count, std::uint32_t value) {
  constexpr std::size_t kRational = 8;
  switch (tag) {
    case 0x010E:
    case 0x010F:
    case 0x0110:
    case 0x0131:
    case 0x0132:
    case 0x8298:
      return {count > 4 ? value : 8u, count};
    case 0x011A:
    case 0x011B:
      return {value, kRational};
    case 0x013E:
      return {value, 2 * kRational};
    case 0x0211:
      return {value, 3 * kRational};
    case 0x013F:
    case 0x0214:
      return {value, 6 * kRational};
    default:
      return {};
  }
}

}  // namespace detail

// The orientation value a TIFF structure (EXIF data after any "Exif\0\0" prefix) holds, if its IFD0 has one.
inline std::optional<std::uint32_t> exif_orientation_tag(std::span<const std::uint8_t> tiff) {
  if (tiff.size() < 8) {
    return std::nullopt;
  }
  const bool little_endian = tiff[0] == 'I' && tiff[1] == 'I';
  const auto u16 = [&](std::size_t at) -> std::uint32_t {
    return little_endian ? tiff[at] | tiff[at + 1] << 8 : tiff[at] << 8 | tiff[at + 1];
  };
  const auto u32 = [&](std::size_t at) -> std::uint32_t {
    return little_endian ? u16(at) | u16(at + 2) << 16 : u16(at) << 16 | u16(at + 2);
  };
  constexpr std::size_t kEntry = 12;
  constexpr std::uint32_t kOrientationTag = 0x0112;
  const std::size_t ifd0 = u32(4);
  if (u16(2) != 42 || ifd0 > tiff.size() - 2) {
    return std::nullopt;
  }
  const std::size_t entries = u16(ifd0);
  for (std::size_t e = 0; e < entries; ++e) {
    const std::size_t entry = ifd0 + 2 + e * kEntry;
    if (entry + 10 > tiff.size()) {
      return std::nullopt;  // cut short before the tag
    }
    const std::uint32_t tag = u16(entry);
    if (tag == kOrientationTag) {
      return u16(entry + 8);
    }
    if (entry + kEntry > tiff.size()) {
      return std::nullopt;  // cut short inside this entry: no later one fits either
    }
    const detail::ExifEntryData data = detail::opencv_entry_data(tag, u32(entry + 4), u32(entry + 8));
    if (data.first + data.size > tiff.size()) {
      return std::nullopt;  // OpenCV stops here
    }
  }
  return std::nullopt;
}

// The orientation 1..8 to apply for a tag value (none, or out of range: 1, as stored).
inline int orientation_of(std::optional<std::uint32_t> tag) {
  return tag && *tag >= 1 && *tag <= 8 ? static_cast<int>(*tag) : 1;
}

// The orientation a JPEG file's EXIF declares, 1 when it has none. The segments before the image data
// (SOS) are walked: marker 0xFF xx (fill bytes 0xFF, and stray bytes before a marker, skipped as libjpeg
// skips them), then a big-endian length that counts itself; a file whose segments do not parse has no
// orientation here (the decoder reports what is wrong with it).
inline int jpeg_exif_orientation(std::span<const std::uint8_t> jpeg) {
  constexpr std::uint8_t kApp1 = 0xE1, kStartOfScan = 0xDA, kEndOfImage = 0xD9;
  std::size_t at = 2;  // after SOI
  while (at + 4 <= jpeg.size()) {
    const std::uint8_t marker = jpeg[at + 1];
    if (jpeg[at] != 0xFF || marker == 0xFF) {
      ++at;  // a stray byte or a fill byte
      continue;
    }
    if (marker == kStartOfScan || marker == kEndOfImage) {
      break;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
      at += 2;  // TEM and RSTn have no length
      continue;
    }
    const std::size_t length = std::size_t{jpeg[at + 2]} << 8 | jpeg[at + 3];
    if (length < 2 || at + 2 + length > jpeg.size()) {
      break;
    }
    const std::span<const std::uint8_t> data = jpeg.subspan(at + 4, length - 2);
    if (marker == kApp1 && data.size() > 6 && std::memcmp(data.data(), "Exif\0\0", 6) == 0) {
      if (const std::optional<std::uint32_t> tag = exif_orientation_tag(data.subspan(6))) {
        return orientation_of(tag);
      }
    }
    at += 2 + length;
  }
  return 1;
}

// The stored pixel (row, column) shown at (r, c) under `orientation` (1..8), for a stored image h × w:
// 5..8 transpose first, then rows and columns are mirrored as the table above says.
inline std::pair<index_t, index_t> stored_pixel(int orientation, index_t r, index_t c, index_t h, index_t w) {
  const bool transposed = orientation >= 5;
  const index_t row = transposed ? c : r;
  const index_t column = transposed ? r : c;
  const bool mirror_rows = orientation == 3 || orientation == 4 || orientation == 6 || orientation == 7;
  const bool mirror_columns = orientation == 2 || orientation == 3 || orientation == 7 || orientation == 8;
  return {mirror_rows ? h - 1 - row : row, mirror_columns ? w - 1 - column : column};
}

// The image as displayed under `orientation` (1..8).
inline Image apply_exif_orientation(ImageView stored, int orientation) {
  INTERNVL_CHECK(orientation >= 1 && orientation <= 8, "io::apply_exif_orientation",
                 "EXIF orientation must be 1..8, got ", orientation);
  const index_t h = stored.size(0);
  const index_t w = stored.size(1);
  const bool transposed = orientation >= 5;
  Image shown(Extents<3>{transposed ? w : h, transposed ? h : w, stored.size(2)});
  for (index_t r = 0; r < shown.size(0); ++r) {
    for (index_t c = 0; c < shown.size(1); ++c) {
      const auto [row, column] = stored_pixel(orientation, r, c, h, w);
      for (index_t k = 0; k < shown.size(2); ++k) {
        shown(r, c, k) = stored(row, column, k);
      }
    }
  }
  return shown;
}

}  // namespace internvl::io
