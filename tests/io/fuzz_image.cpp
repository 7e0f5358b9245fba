// libFuzzer target: any byte string given to decode_image must either raise internvl::Error or decode to an
// RGB image of positive size and at most kMaxDecodedPixels pixels. A decoded image of up to 2^20 pixels then
// goes through the preprocessing at small sizes (classification, retrieval, the segmentation resize, InternVL
// 1.5's tiles), which must accept it or refuse it with internvl::Error (say, an extreme aspect ratio whose
// resized image would exceed kMaxImageBytes). Anything else aborts and is reported as a crash.
// Built only by compilers that support -fsanitize=fuzzer (clang), with ASan and UBSan:
//   CXX=clang++ meson setup build-fuzz && ninja -C build-fuzz tests/io/fuzz_image
//   build-fuzz/tests/io/fuzz_image -dict=tests/io/fuzz_image.dict CORPUS_DIR tests/golden/image
#include <cstdio>
#include <cstdlib>

#include "internvl/io/image.hpp"
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

// Runs `step`; a refusal (internvl::Error) is a correct answer.
template <class Step>
void refused_or_done(Step step) {
  try {
    step();
  } catch (const internvl::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace internvl;
  io::Image image;
  try {
    image = io::decode_image(std::span(data, size), "fuzz input");
  } catch (const Error&) {
    return 0;
  }
  const io::ImageSize decoded = io::size_of(image.view());
  expect(image.size(2) == 3, "a decoded image is RGB");
  expect(decoded.width > 0 && decoded.height > 0, "a decoded image has pixels");
  expect(decoded.width * decoded.height <= io::kMaxDecodedPixels, "a decoded image is within the pixel limit");
  if (decoded.width * decoded.height > (1 << 20)) {
    return 0;  // large valid images are the tests' business; the fuzzer looks for odd ones
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
  return 0;
}
