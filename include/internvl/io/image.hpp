// Image files in and out. read_image decodes PNG, JPEG and binary PPM/PGM to 8-bit RGB [height, width, 3]
// the way Pillow's Image.open(path).convert('RGB') does: grey is replicated, alpha is dropped (not
// composited), palettes are expanded, 16-bit PNG samples keep their high byte, PNM samples are scaled by
// maxval (pnm.hpp). PNG is decoded by stb_image (libstb), JPEG by libjpeg-turbo as Pillow decodes it
// (jpeg.hpp); the pixels of both are Pillow's, bit for bit. Decoder::opencv gives OpenCV's pixels instead,
// which differ in EXIF orientation, CMYK JPEG and PNM with maxval other than 255 (decoder.hpp).
// write_png writes an 8-bit grey (1 channel, e.g. a class-index mask) or RGB (3 channels) PNG.
// Every failure is an internvl::Error naming the file: missing, unreadable, empty, not an image, corrupt
// (a PNG's chunk CRCs are checked before decoding: png_chunks.hpp), or declaring more pixels than Pillow
// decodes (kMaxDecodedPixels, checked from the header before any pixel is allocated).
#pragma once

#include <stb_image.h>
#include <stb_image_write.h>

#include <climits>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "internvl/core/error.hpp"
#include "internvl/io/decoder.hpp"
#include "internvl/io/exif_orientation.hpp"
#include "internvl/io/jpeg.hpp"
#include "internvl/io/pixels.hpp"
#include "internvl/io/png_chunks.hpp"
#include "internvl/io/pnm.hpp"
#include "internvl/io/write_file.hpp"

namespace internvl::io {

enum class ImageFormat { png, jpeg, pnm, unknown };

// The format announced by the first bytes (the file name's extension is not consulted).
inline ImageFormat sniff_image_format(std::span<const std::uint8_t> bytes) {
  static constexpr std::uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), kPng, 8) == 0) return ImageFormat::png;
  if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) return ImageFormat::jpeg;
  if (is_pnm(bytes)) return ImageFormat::pnm;
  return ImageFormat::unknown;
}

namespace detail {

// The pixels as the file stores them, and the orientation its EXIF declares (1 when none).
struct StoredImage {
  Image pixels;
  int exif_orientation = 1;
};

inline StoredImage decode_stored_image(std::span<const std::uint8_t> bytes, ImageFormat format, const std::string& name,
                                       Decoder decoder) {
  if (format == ImageFormat::pnm) {
    return {decode_pnm(bytes, name, decoder)};
  }
  if (format == ImageFormat::jpeg) {
    return {decode_jpeg(bytes, name, decoder), jpeg_exif_orientation(bytes)};
  }
  INTERNVL_CHECK(bytes.size() <= static_cast<std::size_t>(INT_MAX), name, "file is too large to decode (",
                 bytes.size(), " bytes)");
  // The chunks are checked, and the first eXIf chunk libpng keeps (it starts "II" or "MM") read, before
  // stb_image sees the file.
  std::optional<std::span<const std::uint8_t>> exif;
  for_each_png_chunk(bytes, name, [&](std::string_view type, std::size_t offset, std::uint32_t length) {
    const std::span<const std::uint8_t> data = bytes.subspan(offset + 8, length);
    if (type == "eXIf" && !exif && length >= 2 && data[0] == data[1] && (data[0] == 'I' || data[0] == 'M')) {
      exif = data;
    }
  });
  int width = 0;
  int height = 0;
  int channels_in_file = 0;
  if (stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &width, &height, &channels_in_file) != 0) {
    check_decoded_size({width, height}, name);  // from the header, before stb_image allocates the pixels
  }
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &width, &height, &channels_in_file, 3),
      stbi_image_free);
  INTERNVL_CHECK(pixels != nullptr, name, "cannot decode PNG data (stb_image: ", stbi_failure_reason(), ")");
  INTERNVL_CHECK(width > 0 && height > 0, name, "image has zero size (", width, "x", height, ")");
  Image image = make_image({width, height}, 3);
  std::memcpy(image.data(), pixels.get(), static_cast<std::size_t>(image.numel()));
  return {std::move(image), exif ? orientation_of(exif_orientation_tag(*exif)) : 1};
}

}  // namespace detail

// Decodes an image held in memory to RGB as `decoder` says; `name` (usually the file path) is used in errors.
inline Image decode_image(std::span<const std::uint8_t> bytes, const std::string& name,
                          Decoder decoder = Decoder::pillow) {
  INTERNVL_CHECK(!bytes.empty(), name, "file is empty (0 bytes), not an image");
  const ImageFormat format = sniff_image_format(bytes);
  INTERNVL_CHECK(format != ImageFormat::unknown, name,
                 "not an image: the contents are not PNG, JPEG or binary PPM/PGM (", bytes.size(), " bytes)");
  detail::StoredImage stored = detail::decode_stored_image(bytes, format, name, decoder);
  if (decoder == Decoder::opencv && stored.exif_orientation != 1) {
    return apply_exif_orientation(stored.pixels.view(), stored.exif_orientation);
  }
  return std::move(stored.pixels);
}

// An error unless `path` names something that read_image can open: a file, not a directory. Cheap (one
// stat), so a program given many images can check them all before it starts on the first.
inline void check_image_path(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  INTERNVL_CHECK(fs::exists(status), path, "no such file");
  INTERNVL_CHECK(!fs::is_directory(status), path, "is a directory, not an image file");
}

// Reads and decodes an image file to RGB as `decoder` says.
inline Image read_image(const std::string& path, Decoder decoder = Decoder::pillow) {
  check_image_path(path);
  std::ifstream in(path, std::ios::binary);
  INTERNVL_CHECK(in.good(), path, "cannot open the file for reading");
  std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  INTERNVL_CHECK(!in.bad(), path, "read error");
  return decode_image(bytes, path, decoder);
}

// Reads the image file at `path` and runs a preprocessing step on it, step(ImageView); an error the step
// raises (an extreme aspect ratio whose resized image would not fit, say) is reported as the file's.
template <class Step>
auto preprocess_file(const std::string& path, Step step, Decoder decoder = Decoder::pillow) {
  const Image image = read_image(path, decoder);
  try {
    return step(image.view());
  } catch (const Error& e) {
    fail(path, e.where(), ": ", e.message());
  }
}

// An error unless stb_image_write can encode a PNG of this size: it holds the filtered scanlines,
// (width·channels + 1)·height bytes, and their deflated form (up to about 9/8 of that) in int-sized
// buffers, so it is given at most 1 GiB of scanlines (a 16384 x 16384 RGB image is 0.8 GiB).
inline void check_png_size(const std::string& path, index_t width, index_t height, index_t channels) {
  constexpr index_t kMaxScanlineBytes = index_t{1} << 30;
  INTERNVL_CHECK(width > 0 && height > 0 && width <= kMaxScanlineBytes && height <= kMaxScanlineBytes &&
                     (width * channels + 1) * height <= kMaxScanlineBytes,
                 path, "cannot write a PNG of ", width, "x", height, " pixels and ", channels,
                 " channels: its scanlines would take more than the 1 GiB stb_image_write is given");
}

// The bytes of an 8-bit PNG of dense rows (stb_image_write: filtered and deflated; colour type grey or RGB),
// for the file `path`.
inline std::vector<std::uint8_t> encode_png(const std::uint8_t* rows, index_t width, index_t height, index_t channels,
                                            const std::string& path) {
  std::vector<std::uint8_t> png;
  const auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<std::uint8_t>*>(context);
    out->insert(out->end(), static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + size);
  };
  const int ok = stbi_write_png_to_func(append, &png, static_cast<int>(width), static_cast<int>(height),
                                        static_cast<int>(channels), rows, static_cast<int>(width * channels));
  INTERNVL_CHECK(ok != 0 && !png.empty(), path, "stb_image_write could not encode the PNG");
  return png;
}

// Writes a grey (1 channel) or RGB (3 channels) 8-bit PNG; any strided view is accepted.
inline void write_png(const std::string& path, ImageView image) {
  const index_t height = image.size(0);
  const index_t width = image.size(1);
  const index_t channels = image.size(2);
  INTERNVL_CHECK(channels == 1 || channels == 3, path, "write_png writes 1 (grey) or 3 (RGB) channels, got ",
                 channels);
  check_png_size(path, width, height, channels);
  std::vector<std::uint8_t> dense;
  dense.reserve(static_cast<std::size_t>(image.numel()));
  for_each_element(image, [&](std::uint8_t v) { dense.push_back(v); });
  const std::vector<std::uint8_t> png = encode_png(dense.data(), width, height, channels, path);
  write_file(path, {std::as_bytes(std::span(png))});
}

}  // namespace internvl::io
