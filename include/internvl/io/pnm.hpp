// Binary PGM (P5) and PPM (P6) decoding to 8-bit RGB, the way Pillow's Image.open(...).convert('RGB') reads
// them, or OpenCV's imdecode (Decoder::opencv, decoder.hpp).
//   header: magic, width, height, maxval (1..65535), separated by whitespace and '#' comments, then one
//   whitespace byte and the raster, one byte per sample v (maxval < 256) or two bytes big-endian.
//   8-bit value, Pillow: round_half_even(min(v, maxval) · 255 / maxval) (the identity for maxval 255);
//                OpenCV: v for one byte, v >> 8 for two (maxval is not used).
//   Grey is replicated to RGB.
// One deliberate difference: Pillow opens a P5 file with maxval > 255 as 32-bit 'I' and convert('RGB') then
// clamps every value above 255 to white; we scale it like every other sample.
// Refused with an Error naming the file: ASCII (P1-P3) and bitmap (P4) variants, zero sizes, bad headers,
// truncated rasters.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <span>
#include <string>

#include "internvl/core/error.hpp"
#include "internvl/io/decoder.hpp"
#include "internvl/io/pixels.hpp"

namespace internvl::io {

namespace detail {

// Reads the header fields of a PNM file, skipping whitespace and comments.
class PnmHeaderReader {
 public:
  PnmHeaderReader(std::span<const std::uint8_t> bytes, const std::string& name) : bytes_(bytes), name_(name) {}

  long long next_number(const char* field) {
    skip_space_and_comments();
    INTERNVL_CHECK(pos_ < bytes_.size() && std::isdigit(bytes_[pos_]), name_, "PNM header: expected the ", field,
                   " (a decimal number) at byte ", pos_);
    long long value = 0;
    while (pos_ < bytes_.size() && std::isdigit(bytes_[pos_])) {
      value = value * 10 + (bytes_[pos_++] - '0');
      INTERNVL_CHECK(value <= (1ll << 30), name_, "PNM header: ", field, " is implausibly large");
    }
    return value;
  }

  // The raster starts after exactly one whitespace byte following maxval.
  std::size_t raster_offset() const {
    INTERNVL_CHECK(pos_ < bytes_.size() && std::isspace(bytes_[pos_]), name_,
                   "PNM header: expected one whitespace byte after maxval");
    return pos_ + 1;
  }

 private:
  void skip_space_and_comments() {
    while (pos_ < bytes_.size()) {
      if (std::isspace(bytes_[pos_])) {
        ++pos_;
      } else if (bytes_[pos_] == '#') {
        while (pos_ < bytes_.size() && bytes_[pos_] != '\n' && bytes_[pos_] != '\r') ++pos_;
      } else {
        break;
      }
    }
  }

  std::span<const std::uint8_t> bytes_;
  const std::string& name_;
  std::size_t pos_ = 2;  // after the magic
};

// round_half_even(v · 255 / maxval) in exact integer arithmetic.
inline std::uint8_t scale_pnm_sample(std::uint32_t v, std::uint32_t maxval) {
  const std::uint32_t num = v * 255u;
  std::uint32_t q = num / maxval;
  const std::uint32_t twice_rem = 2u * (num % maxval);
  if (twice_rem > maxval || (twice_rem == maxval && (q & 1u) != 0)) ++q;
  return static_cast<std::uint8_t>(q);
}

}  // namespace detail

inline bool is_pnm(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 2 && bytes[0] == 'P' && bytes[1] >= '1' && bytes[1] <= '7';
}

// Decodes a binary PGM/PPM held in memory as `decoder` says; `name` (the file path) is used in errors.
inline Image decode_pnm(std::span<const std::uint8_t> bytes, const std::string& name,
                        Decoder decoder = Decoder::pillow) {
  INTERNVL_CHECK(is_pnm(bytes), name, "not a PNM file (no P1-P7 magic)");
  const char kind = static_cast<char>(bytes[1]);
  INTERNVL_CHECK(kind == '5' || kind == '6', name, "PNM variant P", kind,
                 " is not supported (only binary PGM P5 and PPM P6 are)");
  const index_t channels = kind == '6' ? 3 : 1;

  detail::PnmHeaderReader header(bytes, name);
  const long long width = header.next_number("width");
  const long long height = header.next_number("height");
  const long long maxval = header.next_number("maxval");
  INTERNVL_CHECK(width > 0 && height > 0, name, "image has zero size (", width, "x", height, ")");
  INTERNVL_CHECK(maxval >= 1 && maxval <= 65535, name, "PNM maxval must be in 1..65535, found ", maxval);
  check_decoded_size({width, height}, name);
  const std::size_t offset = header.raster_offset();

  const std::size_t sample_bytes = maxval > 255 ? 2 : 1;
  const auto samples = static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * channels;
  INTERNVL_CHECK(bytes.size() - offset >= samples * sample_bytes, name, "truncated PNM raster: ", width, "x", height,
                 "x", channels, " samples need ", samples * sample_bytes, " bytes, the file has ",
                 bytes.size() - offset);

  Image image = make_image({width, height}, 3);
  const std::uint8_t* in = bytes.data() + offset;
  std::uint8_t* out = image.data();
  const auto max = static_cast<std::uint32_t>(maxval);
  for (std::size_t i = 0; i < samples; ++i) {
    const std::uint32_t raw = sample_bytes == 2 ? (std::uint32_t{in[2 * i]} << 8) | in[2 * i + 1] : in[i];
    const std::uint32_t v = std::min(raw, max);  // Pillow clamps samples above maxval
    const std::uint8_t v8 = decoder == Decoder::opencv ? static_cast<std::uint8_t>(sample_bytes == 2 ? raw >> 8 : raw)
                            : max == 255               ? static_cast<std::uint8_t>(v)
                                                       : detail::scale_pnm_sample(v, max);
    if (channels == 3) {
      out[i] = v8;
    } else {
      out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = v8;
    }
  }
  return image;
}

}  // namespace internvl::io
