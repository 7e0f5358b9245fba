// Pillow's Image.resize(size, Image.BICUBIC) on 8-bit images, reproduced bit for bit.
//   Separable: a horizontal pass (only over the rows the vertical pass will read) into an 8-bit image,
//   then a vertical pass (Pillow >= 13 goes vertical first when the height shrinks by more than twice what the
//   width shrinks: PillowPassOrder); an axis whose size does not change is not resampled.
//   Per axis (in → out samples): scale = in/out, filterscale = max(scale, 1) (antialias when shrinking),
//   support = 2·filterscale; output i is centred at c = (i + 0.5)·scale and reads inputs
//   [trunc(c − support + 0.5), trunc(c + support + 0.5)) clipped to the image, with weights
//   k(j) = cubic((j − c + 0.5) · (1 / filterscale)), cubic a = −0.5, normalised to sum 1 (in double), then
//   rounded to 22-bit fixed point (away from zero at .5). out = clamp(⌊(2^21 + Σ k·in) / 2^22⌋, 0, 255).
// 1 to 4 channels; any strided view. Sizes must be positive.
#pragma once

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <vector>

#include "internvl/core/error.hpp"
#include "internvl/io/pixels.hpp"

namespace internvl::io {

namespace detail {

inline constexpr int kPillowPrecisionBits = 32 - 8 - 2;

// Pillow's cubic convolution kernel with a = -0.5, written in the same operation order (this matters to
// the last bit of the double weights, and so to their fixed-point rounding).
inline double pillow_cubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) {
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  }
  if (x < 2.0) {
    return (((x - 5) * x + 8) * x - 4) * a;
  }
  return 0.0;
}

// The fixed-point taps of one axis: output i reads `count[i]` inputs from `first[i]` with
// weights[i * taps, i * taps + count[i]).
struct ResampleTaps {
  index_t taps = 0;
  std::vector<index_t> first;
  std::vector<index_t> count;
  std::vector<std::int32_t> weights;
};

inline ResampleTaps pillow_bicubic_taps(index_t in_size, index_t out_size) {
  constexpr double kSupport = 2.0;
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filterscale = std::max(scale, 1.0);
  const double support = kSupport * filterscale;
  const double inv = 1.0 / filterscale;
  ResampleTaps t;
  t.taps = static_cast<index_t>(std::ceil(support)) * 2 + 1;
  // Pillow's table holds out·taps doubles and must stay within INT_MAX bytes (about 32·in bytes when
  // shrinking: an axis of more than about 67 million samples); beyond, Image.resize raises MemoryError.
  INTERNVL_CHECK(out_size <= INT_MAX / (t.taps * static_cast<index_t>(sizeof(double))), "io::resize_bicubic_pillow",
                 "resizing ", in_size, " samples to ", out_size, " takes ", t.taps,
                 " taps each, more than Pillow's filter table holds (Image.resize raises MemoryError)");
  t.first.resize(static_cast<std::size_t>(out_size));
  t.count.resize(static_cast<std::size_t>(out_size));
  t.weights.assign(static_cast<std::size_t>(out_size * t.taps), 0);
  std::vector<double> k(static_cast<std::size_t>(t.taps));
  for (index_t i = 0; i < out_size; ++i) {
    const double center = (static_cast<double>(i) + 0.5) * scale;
    // C's (int) cast truncates toward zero; both ends are then clipped to the image.
    const index_t lo = std::max<index_t>(static_cast<index_t>(center - support + 0.5), 0);
    const index_t hi = std::min<index_t>(static_cast<index_t>(center + support + 0.5), in_size);
    const index_t n = hi - lo;
    double total = 0.0;
    for (index_t j = 0; j < n; ++j) {
      k[j] = pillow_cubic((static_cast<double>(j + lo) - center + 0.5) * inv);
      total += k[j];
    }
    for (index_t j = 0; j < n; ++j) {
      const double w = total != 0.0 ? k[j] / total : k[j];
      const double fixed = w * (1 << kPillowPrecisionBits);
      t.weights[i * t.taps + j] = static_cast<std::int32_t>(w < 0 ? -0.5 + fixed : 0.5 + fixed);
    }
    t.first[i] = lo;
    t.count[i] = n;
  }
  return t;
}

inline std::uint8_t pillow_clip8(std::int32_t acc) {
  return static_cast<std::uint8_t>(std::clamp(acc >> kPillowPrecisionBits, 0, 255));
}

inline constexpr index_t kMaxResizeChannels = 4;

// Horizontal pass: out(y, x, c) from rows y + row_offset of `in`, all channels of a source pixel at once.
inline void pillow_horizontal_pass(ImageView in, Image& out, const ResampleTaps& taps, index_t row_offset) {
  const index_t channels = out.size(2);
  const index_t pixel_step = in.stride(1);
  const index_t channel_step = in.stride(2);
  std::uint8_t* dst = out.data();
  for (index_t y = 0; y < out.size(0); ++y) {
    const std::uint8_t* row = in.data() + (y + row_offset) * in.stride(0);
    for (index_t x = 0; x < out.size(1); ++x) {
      const std::int32_t* w = taps.weights.data() + x * taps.taps;
      const std::uint8_t* src = row + taps.first[x] * pixel_step;
      std::int32_t acc[kMaxResizeChannels];
      std::fill_n(acc, channels, 1 << (kPillowPrecisionBits - 1));
      for (index_t j = 0; j < taps.count[x]; ++j) {
        const std::uint8_t* p = src + j * pixel_step;
        for (index_t c = 0; c < channels; ++c) {
          acc[c] += static_cast<std::int32_t>(p[c * channel_step]) * w[j];
        }
      }
      for (index_t c = 0; c < channels; ++c) {
        *dst++ = pillow_clip8(acc[c]);
      }
    }
  }
}

// Vertical pass: each output row accumulates whole source rows (a loop the compiler vectorises).
inline void pillow_vertical_pass(ImageView in, Image& out, const ResampleTaps& taps) {
  const index_t width = out.size(1);
  const index_t channels = out.size(2);
  const index_t row_len = width * channels;
  const bool dense_rows = in.stride(2) == 1 && in.stride(1) == channels;
  std::vector<std::int32_t> acc(static_cast<std::size_t>(row_len));
  for (index_t y = 0; y < out.size(0); ++y) {
    std::fill(acc.begin(), acc.end(), 1 << (kPillowPrecisionBits - 1));
    const std::int32_t* w = taps.weights.data() + y * taps.taps;
    for (index_t j = 0; j < taps.count[y]; ++j) {
      const std::uint8_t* src = in.data() + (taps.first[y] + j) * in.stride(0);
      const std::int32_t weight = w[j];
      if (dense_rows) {
        for (index_t k = 0; k < row_len; ++k) {
          acc[k] += static_cast<std::int32_t>(src[k]) * weight;
        }
      } else {
        for (index_t x = 0; x < width; ++x) {
          for (index_t c = 0; c < channels; ++c) {
            acc[x * channels + c] += static_cast<std::int32_t>(src[x * in.stride(1) + c * in.stride(2)]) * weight;
          }
        }
      }
    }
    std::uint8_t* dst = out.data() + y * row_len;
    for (index_t k = 0; k < row_len; ++k) {
      dst[k] = pillow_clip8(acc[k]);
    }
  }
}

}  // namespace detail

// Which Pillow release's pass order to reproduce. The two orders round the 8-bit intermediate differently,
// so results differ by a level or more on some pixels.
enum class PillowPassOrder {
  horizontal_first,  // Pillow <= 12 (what InternVL was trained and evaluated with): always horizontal first
  pillow13,          // Pillow >= 13: vertical first when the height shrinks by more than twice the width does
};

// Resizes to (width, height) as Pillow's Image.resize((width, height), Image.BICUBIC) does.
inline Image resize_bicubic_pillow(ImageView image, index_t width, index_t height,
                                   PillowPassOrder order = PillowPassOrder::horizontal_first) {
  const ImageSize in = size_of(image);
  const index_t channels = image.size(2);
  INTERNVL_CHECK(in.width > 0 && in.height > 0, "io::resize_bicubic_pillow", "cannot resize an empty image of shape ",
                 shape_string(image.shape()));
  INTERNVL_CHECK(channels >= 1 && channels <= detail::kMaxResizeChannels, "io::resize_bicubic_pillow",
                 "images have 1 to 4 channels, got ", channels);
  INTERNVL_CHECK(width > 0 && height > 0, "io::resize_bicubic_pillow", "output size must be positive, got ", width,
                 "x", height);
  if (width == in.width && height == in.height) {
    return copy_image(image);
  }
  Image result = make_image({width, height}, channels);  // first: it refuses sizes no image may have
  const detail::ResampleTaps horizontal = detail::pillow_bicubic_taps(in.width, width);
  detail::ResampleTaps vertical = detail::pillow_bicubic_taps(in.height, height);
  if (height == in.height) {
    detail::pillow_horizontal_pass(image, result, horizontal, 0);
    return result;
  }
  if (width == in.width) {
    detail::pillow_vertical_pass(image, result, vertical);
    return result;
  }
  const bool vertical_first = order == PillowPassOrder::pillow13 && height < in.height &&
                              in.height - height > 2 * (in.width - width);
  if (vertical_first) {
    Image temp = make_image({in.width, height}, channels);
    detail::pillow_vertical_pass(image, temp, vertical);
    detail::pillow_horizontal_pass(temp.view(), result, horizontal, 0);
    return result;
  }
  // Horizontal pass over the rows the vertical pass reads, [first_row, last_row).
  const index_t first_row = vertical.first.front();
  const index_t last_row = vertical.first.back() + vertical.count.back();
  for (index_t& f : vertical.first) {
    f -= first_row;
  }
  Image temp = make_image({width, last_row - first_row}, channels);
  detail::pillow_horizontal_pass(image, temp, horizontal, first_row);
  detail::pillow_vertical_pass(temp.view(), result, vertical);
  return result;
}

}  // namespace internvl::io
