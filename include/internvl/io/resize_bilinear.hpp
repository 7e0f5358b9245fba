// OpenCV's cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR) on 8-bit images, bit for bit
// (as MMSegmentation's mmcv.imresize calls it). Per axis (in → out samples), scale = in/out in double:
//   f = float((i + 0.5)·scale − 0.5), s = ⌊f⌋, t = f − s, weights (1 − t, t) rounded to 11-bit fixed point.
//   horizontal: D = S[s]·a0 + S[s+1]·a1; where s < 0 or s ≥ in − 1 the clamped edge sample counts fully (·2048).
//   vertical:   rows r0 = clamp(s), r1 = clamp(s + 1) with the weights unchanged, and the rounding of
//               OpenCV's SIMD kernel: out = sat8((((D0 >> 4)·b0 >> 16) + ((D1 >> 4)·b1 >> 16) + 2) >> 2).
// (At an exact 2x reduction OpenCV switches to INTER_AREA; both give the same 2x2 rounded mean.)
// Any channel count; any strided view. Sizes must be positive.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "internvl/core/error.hpp"
#include "internvl/io/pixels.hpp"

namespace internvl::io {

namespace detail {

inline constexpr int kOpenCvCoefBits = 11;
inline constexpr std::int32_t kOpenCvCoefOne = 1 << kOpenCvCoefBits;

// Source sample s and fixed-point weights of (s, s + 1) for every output sample of one axis.
struct LinearTaps {
  std::vector<index_t> first;
  std::vector<std::int32_t> w0;
  std::vector<std::int32_t> w1;
};

inline LinearTaps opencv_linear_taps(index_t in_size, index_t out_size) {
  const double scale = 1.0 / (static_cast<double>(out_size) / static_cast<double>(in_size));
  LinearTaps t;
  t.first.resize(static_cast<std::size_t>(out_size));
  t.w0.resize(static_cast<std::size_t>(out_size));
  t.w1.resize(static_cast<std::size_t>(out_size));
  for (index_t i = 0; i < out_size; ++i) {
    float f = static_cast<float>((static_cast<double>(i) + 0.5) * scale - 0.5);
    const auto s = static_cast<index_t>(std::floor(f));
    f -= static_cast<float>(s);
    t.first[i] = s;
    // saturate_cast<short>(float) rounds half to even, as lrint does in the default rounding mode.
    t.w0[i] = static_cast<std::int32_t>(std::lrint((1.0f - f) * static_cast<float>(kOpenCvCoefOne)));
    t.w1[i] = static_cast<std::int32_t>(std::lrint(f * static_cast<float>(kOpenCvCoefOne)));
  }
  return t;
}

}  // namespace detail

// Resizes to (width, height) as cv2.resize(..., interpolation=cv2.INTER_LINEAR) does.
inline Image resize_bilinear_opencv(ImageView image, index_t width, index_t height) {
  const ImageSize in = size_of(image);
  const index_t channels = image.size(2);
  INTERNVL_CHECK(in.width > 0 && in.height > 0 && channels > 0, "io::resize_bilinear_opencv",
                 "cannot resize an empty image of shape ", shape_string(image.shape()));
  INTERNVL_CHECK(width > 0 && height > 0, "io::resize_bilinear_opencv", "output size must be positive, got ", width,
                 "x", height);
  if (width == in.width && height == in.height) {
    return copy_image(image);
  }
  Image result = make_image({width, height}, channels);  // first: it refuses sizes no image may have
  const detail::LinearTaps horizontal = detail::opencv_linear_taps(in.width, width);
  const detail::LinearTaps vertical = detail::opencv_linear_taps(in.height, height);

  // Horizontal pass into 32-bit rows holding value·2048 (every source row: rows are reused across outputs).
  const index_t row_len = width * channels;
  std::vector<std::int32_t> rows(static_cast<std::size_t>(in.height * row_len));
  const index_t pixel_step = image.stride(1);
  const index_t channel_step = image.stride(2);
  for (index_t y = 0; y < in.height; ++y) {
    const std::uint8_t* src = image.data() + y * image.stride(0);
    std::int32_t* d = rows.data() + y * row_len;
    for (index_t x = 0; x < width; ++x) {
      const index_t s = horizontal.first[x];
      if (s < 0 || s >= in.width - 1) {  // the clamped edge sample counts fully
        const std::uint8_t* p = src + std::clamp<index_t>(s, 0, in.width - 1) * pixel_step;
        for (index_t c = 0; c < channels; ++c) {
          d[x * channels + c] = std::int32_t{p[c * channel_step]} * detail::kOpenCvCoefOne;
        }
      } else {
        const std::uint8_t* p = src + s * pixel_step;
        for (index_t c = 0; c < channels; ++c) {
          d[x * channels + c] = std::int32_t{p[c * channel_step]} * horizontal.w0[x] +
                                std::int32_t{p[c * channel_step + pixel_step]} * horizontal.w1[x];
        }
      }
    }
  }

  for (index_t y = 0; y < height; ++y) {
    const index_t s = vertical.first[y];
    const std::int32_t* d0 = rows.data() + std::clamp<index_t>(s, 0, in.height - 1) * row_len;
    const std::int32_t* d1 = rows.data() + std::clamp<index_t>(s + 1, 0, in.height - 1) * row_len;
    const std::int32_t b0 = vertical.w0[y];
    const std::int32_t b1 = vertical.w1[y];
    std::uint8_t* out = result.data() + y * row_len;
    for (index_t k = 0; k < row_len; ++k) {
      const std::int32_t v = (((d0[k] >> 4) * b0 >> 16) + ((d1[k] >> 4) * b1 >> 16) + 2) >> 2;
      out[k] = static_cast<std::uint8_t>(std::clamp(v, 0, 255));
    }
  }
  return result;
}

}  // namespace internvl::io
