// The chunk layer of a PNG file (PNG spec §5): after the 8-byte signature, chunks of
//   length (4 bytes, big-endian) | type (4 ASCII letters) | data (length bytes) | CRC-32 of type + data
// up to IEND. stb_image skips the CRCs (and zlib's Adler-32), so a flipped byte in the image data can
// decode to wrong pixels without an error. check_png_chunks checks every chunk's bounds and CRC first
// and names the chunk and its offset: what libpng does for the critical chunks, and stricter than
// Pillow, which checks the chunks before the image data and leaves the data to zlib's Adler-32. Bytes
// after IEND are ignored (as by every decoder).
//   png_crc(bytes)        CRC-32 (ISO 3309 / ITU-T V.42, reflected polynomial 0xEDB88320), the one zlib
//                         computes; png_crc("IEND") = 0xAE426082
//   for_each_png_chunk(bytes, name, visit)
//                         visit(type, offset, length) for each chunk up to IEND, each one checked first:
//                         an internvl::Error naming `name` for a chunk that runs past the end of the file
//                         or whose stored CRC differs from its contents'
//   check_png_chunks(bytes, name)
//                         those checks alone
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "internvl/core/error.hpp"

namespace internvl::io {

namespace detail {

inline constexpr std::array<std::uint32_t, 256> kCrcTable = [] {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int bit = 0; bit < 8; ++bit) {
      c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    table[n] = c;
  }
  return table;
}();

inline std::uint32_t read_u32_be(std::span<const std::uint8_t> bytes, std::size_t at) {
  return std::uint32_t{bytes[at]} << 24 | std::uint32_t{bytes[at + 1]} << 16 | std::uint32_t{bytes[at + 2]} << 8 |
         std::uint32_t{bytes[at + 3]};
}

inline void write_u32_be(std::vector<std::uint8_t>& out, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) {
    out[at + i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
  }
}

// A chunk type as an error message shows it: letters as they are (a valid type is four ASCII letters),
// any other byte as \xNN, so that a corrupt file's bytes neither garble nor cut the message.
inline std::string printable_chunk_type(std::string_view type) {
  std::string shown;
  for (const char c : type) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
      shown += c;
    } else {
      constexpr char kHex[] = "0123456789abcdef";
      const auto byte = static_cast<unsigned char>(c);
      shown += {'\\', 'x', kHex[byte >> 4], kHex[byte & 15]};
    }
  }
  return shown;
}

}  // namespace detail

inline std::uint32_t png_crc(std::span<const std::uint8_t> bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (const std::uint8_t b : bytes) {
    crc = detail::kCrcTable[(crc ^ b) & 0xFFu] ^ (crc >> 8);
  }
  return ~crc;
}

// `bytes` starts with the PNG signature (sniffed by the caller). A chunk spans
// [offset, offset + 12 + length): length, type, data, CRC.
template <class Visit>
void for_each_png_chunk(std::span<const std::uint8_t> bytes, const std::string& name, Visit&& visit) {
  constexpr std::size_t kSignature = 8, kHeader = 8, kCrc = 4;
  std::size_t at = kSignature;
  while (at < bytes.size()) {
    INTERNVL_CHECK(bytes.size() - at >= kHeader + kCrc, name, "PNG is truncated: ", bytes.size() - at,
                   " bytes at offset ", at, " are too few for a chunk");
    const std::uint32_t length = detail::read_u32_be(bytes, at);
    const std::string type(reinterpret_cast<const char*>(bytes.data() + at + 4), 4);
    INTERNVL_CHECK(length <= bytes.size() - at - kHeader - kCrc, name, "PNG is truncated: chunk '",
                   detail::printable_chunk_type(type), "' at offset ", at, " holds ", length, " bytes, the file has ",
                   bytes.size() - at - kHeader - kCrc, " left");
    const std::uint32_t stored = detail::read_u32_be(bytes, at + kHeader + length);
    const std::uint32_t computed = png_crc(bytes.subspan(at + 4, 4 + length));
    INTERNVL_CHECK(stored == computed, name, "PNG is corrupt: chunk '", detail::printable_chunk_type(type),
                   "' at offset ", at, " fails its CRC check (stored ", stored, ", computed ", computed, ")");
    visit(std::string_view(type), at, length);
    if (type == "IEND") {
      return;
    }
    at += kHeader + length + kCrc;
  }
}

inline void check_png_chunks(std::span<const std::uint8_t> bytes, const std::string& name) {
  for_each_png_chunk(bytes, name, [](std::string_view, std::size_t, std::uint32_t) {});
}

}  // namespace internvl::io
