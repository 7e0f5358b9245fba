// libFuzzer target: any byte string given to decode_image must either raise internvl::Error or decode to an
// RGB image of positive size and at most kMaxDecodedPixels pixels. A PNG is decoded twice: as given, and with
// every chunk's CRC rewritten to match, since random bytes almost never pass the CRC check that comes before
// stb_image's decoder, while a malicious file has valid CRCs. A decoded image of up to 2^20 pixels then
// goes through the preprocessing at small sizes (classification, retrieval, the segmentation resize, InternVL
// 1.5's tiles), which must accept it or refuse it with internvl::Error (say, an extreme aspect ratio whose
// resized image would exceed kMaxImageBytes). The same bytes as a label mask (label_mask.hpp) must be refused
// or give one label per pixel of what decode_image gives; decoded turned as its EXIF says, it must give the same
// number of pixels. Anything else aborts and is reported as a crash.
// Built only by compilers that support -fsanitize=fuzzer (clang), with ASan and UBSan:
//   CXX=clang++ meson setup build-fuzz && ninja -C build-fuzz tests/io/fuzz_image
//   build-fuzz/tests/io/fuzz_image -dict=tests/io/fuzz_image.dict CORPUS_DIR tests/golden/image
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "internvl/io/image.hpp"
#include "internvl/io/label_mask.hpp"
#include "internvl/io/preprocess.hpp"
#include "internvl/io/segmentation_input.hpp"
#include "internvl/io/tiling.hpp"

namespace {

void expect(bool holds, const char* what) {
  if (!holds) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

// The bytes with the CRC of every whole chunk after the PNG signature recomputed (png_chunks.hpp's layout).
std::vector<std::uint8_t> with_valid_crcs(std::span<const std::uint8_t> png) {
  std::vector<std::uint8_t> bytes(png.begin(), png.end());
  std::size_t at = 8;
  while (at + 12 <= bytes.size()) {
    const std::uint64_t length = internvl::io::detail::read_u32_be(bytes, at);
    if (length > bytes.size() - at - 12) {
      break;
    }
    const std::uint32_t crc = internvl::io::png_crc(std::span(bytes).subspan(at + 4, length + 4));
    for (int i = 0; i < 4; ++i) {
      bytes[at + 8 + length + i] = static_cast<std::uint8_t>(crc >> (24 - 8 * i));
    }
    at += length + 12;
  }
  return bytes;
}

// Runs `step`; a refusal (internvl::Error) is a correct answer.
template <class Step>
void refused_or_done(Step step) {
  try {
    step();
  } catch (const internvl::Error&) {
  }
}

// decode_image's contract on `bytes`, then the preprocessing's on what it decoded.
void check_decoded_and_preprocess(std::span<const std::uint8_t> bytes) {
  using namespace internvl;
  io::Image image;
  try {
    image = io::decode_image(bytes, "fuzz input");
  } catch (const Error&) {
    refused_or_done([&] { io::decode_label_mask(bytes, "fuzz input"); });
    return;
  }
  refused_or_done([&] {
    const Tensor<std::uint8_t, 2> labels = io::decode_label_mask(bytes, "fuzz input");
    expect(labels.size(0) == image.size(0) && labels.size(1) == image.size(1), "a label mask has the image's size");
  });
  const io::Image turned = io::decode_image(bytes, "fuzz input", io::Decoder::opencv);
  expect(turned.numel() == image.numel() && (turned.size(0) == image.size(0) || turned.size(0) == image.size(1)),
         "an EXIF orientation keeps the pixels and at most swaps the sides");
  const io::ImageSize decoded = io::size_of(image.view());
  expect(image.size(2) == 3, "a decoded image is RGB");
  expect(decoded.width > 0 && decoded.height > 0, "a decoded image has pixels");
  expect(decoded.width * decoded.height <= io::kMaxDecodedPixels, "a decoded image is within the pixel limit");
  if (decoded.width * decoded.height > (1 << 20)) {
    return;  // large valid images are the tests' business; the fuzzer looks for odd ones
  }
  refused_or_done([&] {
    expect(io::classification(image.view(), 28).shape() == Extents<3>{3, 28, 28}, "classification gives 3 x 28 x 28");
  });
  refused_or_done([&] {
    expect(io::retrieval(image.view(), 28).shape() == Extents<3>{3, 28, 28}, "retrieval gives 3 x 28 x 28");
  });
  refused_or_done([&] {
    const io::Image resized = io::segmentation_resize(image.view(), {.short_side = 42, .size_divisor = 14});
    expect(resized.size(0) % 14 == 0 && resized.size(1) % 14 == 0, "the segmentation resize gives multiples of 14");
  });
  refused_or_done([&] {
    const io::TiledImage tiled = io::tile_image(image.view(), {.tile_size = 28, .max_tiles = 6});
    expect(tiled.pixels.size(0) >= 1 && tiled.pixels.size(2) == 28, "tiling gives tiles of the asked size");
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  check_decoded_and_preprocess(input);
  if (internvl::io::sniff_image_format(input) == internvl::io::ImageFormat::png) {
    check_decoded_and_preprocess(with_valid_crcs(input));
  }
  return 0;
}
