// 8-bit images as the library holds them: Image = Tensor<uint8_t, 3> of shape [height, width, channels],
// rows of interleaved channels (channels 3 = RGB, 1 = grey), exactly numpy's view of a Pillow image.
// ImageView is the read-only view every transform takes (crops are strided views, no copies);
// ImageSize is (width, height) in the order Pillow and OpenCV write sizes.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "internvl/core/error.hpp"
#include "internvl/core/tensor.hpp"

namespace internvl::io {

using Image = Tensor<std::uint8_t, 3>;
using ImageView = CView<std::uint8_t, 3>;

struct ImageSize {
  index_t width = 0;
  index_t height = 0;

  bool operator==(const ImageSize&) const = default;
  friend std::ostream& operator<<(std::ostream& out, const ImageSize& s) {
    return out << s.width << 'x' << s.height;
  }
};

inline ImageSize size_of(ImageView image) { return {image.size(1), image.size(0)}; }

// The most bytes one image may take, decoded or resized: 2 GiB (a 16384 x 16384 RGB image is 0.8 GiB).
// Larger ones come from degenerate inputs, such as a 16000000 x 1 image whose shorter side is resized to
// 224, and would fail to allocate or run for minutes.
inline constexpr double kMaxImageBytes = 2147483648.0;

// The most pixels an image file may decode to: Pillow's limit (Image.open raises DecompressionBombError
// above 2 × Image.MAX_IMAGE_PIXELS). A PNG or JPEG of a few hundred bytes can declare dimensions whose
// pixels take gigabytes; the decoders check the header's size against this before they allocate.
inline constexpr index_t kMaxDecodedPixels = 178956970;

// Refuses the dimensions of an image file (`name`, for the message) with more than kMaxDecodedPixels pixels.
inline void check_decoded_size(ImageSize size, const std::string& name) {
  INTERNVL_CHECK(size.width * size.height <= kMaxDecodedPixels, name, "image of ", size, " = ",
                 size.width * size.height, " pixels is larger than the ", kMaxDecodedPixels,
                 " pixels an image file may decode to (Pillow refuses it too: a decompression bomb?)");
}

// Whether an image of this size and channel count stays within kMaxImageBytes.
inline bool fits_image_bytes(ImageSize size, index_t channels) {
  return static_cast<double>(size.width) * static_cast<double>(size.height) * static_cast<double>(channels) <=
         kMaxImageBytes;
}

// An uninitialised image of the given size.
inline Image make_image(ImageSize size, index_t channels) {
  INTERNVL_CHECK(fits_image_bytes(size, channels), "io::make_image", "an image of ", size, " pixels and ", channels,
                 " channels would take more than the 2 GiB an image may");
  return Image(Extents<3>{size.height, size.width, channels});
}

// A dense copy of any (possibly strided) view.
inline Image copy_image(ImageView image) {
  Image copy(image.shape());
  std::uint8_t* out = copy.data();
  for_each_element(image, [&](std::uint8_t v) { *out++ = v; });
  return copy;
}

}  // namespace internvl::io
