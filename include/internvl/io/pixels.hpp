// 8-bit images as the library holds them: Image = Tensor<uint8_t, 3> of shape [height, width, channels],
// rows of interleaved channels (channels 3 = RGB, 1 = grey), exactly numpy's view of a Pillow image.
// ImageView is the read-only view every transform takes (crops are strided views, no copies);
// ImageSize is (width, height) in the order Pillow and OpenCV write sizes.
#pragma once

#include <cstdint>
#include <ostream>

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

// An uninitialised image of the given size.
inline Image make_image(ImageSize size, index_t channels) { return Image(Extents<3>{size.height, size.width, channels}); }

// A dense copy of any (possibly strided) view.
inline Image copy_image(ImageView image) {
  Image copy(image.shape());
  std::uint8_t* out = copy.data();
  for_each_element(image, [&](std::uint8_t v) { *out++ = v; });
  return copy;
}

}  // namespace internvl::io
