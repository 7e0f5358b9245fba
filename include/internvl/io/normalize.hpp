// 8-bit RGB pixels to the normalised float tensors models read, channel-first: out[c, y, x].
//   torchvision (ToTensor + Normalize): out = (float(v) / 255 − mean_c) / std_c, each step in float32;
//   mmcv (imnormalize, MMSegmentation): d = float(v) − float(mean_c) in float32 (cv2.subtract), then
//   out = float(double(d) · (1 / double(float(std_c)))) (cv2.multiply by a double scalar rounds once, at the
//   end; MMSegmentation's Normalize holds mean and std as float32 arrays, which mmcv widens to float64).
// A Normalization is the table of all 256 results per channel, computed with exactly those float32 steps, so
// the output is bit-identical to the Python libraries'. Shapes: image [H, W, 3] → out [3, H, W].
#pragma once

#include <array>
#include <cstdint>

#include "internvl/core/error.hpp"
#include "internvl/core/tensor.hpp"
#include "internvl/io/pixels.hpp"

namespace internvl::io {

struct Normalization {
  std::array<std::array<float, 256>, 3> table{};  // table[c][v]: the normalised value of level v in channel c

  // torchvision: ToTensor() then Normalize(mean, std).
  static Normalization torchvision(const std::array<float, 3>& mean, const std::array<float, 3>& std) {
    Normalization n;
    for (std::size_t c = 0; c < 3; ++c) {
      for (int v = 0; v < 256; ++v) {
        const float unit = static_cast<float>(v) / 255.0f;
        n.table[c][static_cast<std::size_t>(v)] = (unit - mean[c]) / std[c];
      }
    }
    return n;
  }

  // MMSegmentation's Normalize(mean, std): mean and std as float32, then mmcv.imnormalize on the float32
  // image, cv2.subtract and cv2.multiply by 1 / float64(std).
  static Normalization mmcv(const std::array<float, 3>& mean, const std::array<float, 3>& std) {
    Normalization n;
    for (std::size_t c = 0; c < 3; ++c) {
      const float m = mean[c];
      const double inv = 1.0 / static_cast<double>(std[c]);
      for (int v = 0; v < 256; ++v) {
        const float centred = static_cast<float>(v) - m;
        n.table[c][static_cast<std::size_t>(v)] = static_cast<float>(static_cast<double>(centred) * inv);
      }
    }
    return n;
  }
};

// ImageNet statistics, as InternVL's classification, retrieval and chat transforms use them.
inline const Normalization& imagenet_normalization() {
  static const Normalization n = Normalization::torchvision({0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f});
  return n;
}

// The same statistics on the 0..255 scale, as MMSegmentation's Normalize step (InternViT segmentation) uses them.
inline const Normalization& mmseg_normalization() {
  static const Normalization n = Normalization::mmcv({123.675f, 116.28f, 103.53f}, {58.395f, 57.12f, 57.375f});
  return n;
}

// Writes image [H, W, 3] into out [3, H, W] (any strides).
inline void normalize_to_chw(View<float, 3> out, ImageView image, const Normalization& norm) {
  INTERNVL_CHECK(image.size(2) == 3, "io::normalize_to_chw", "expected an RGB image [H, W, 3], got ",
                 shape_string(image.shape()));
  INTERNVL_CHECK(out.size(0) == 3 && out.size(1) == image.size(0) && out.size(2) == image.size(1),
                 "io::normalize_to_chw", "output ", shape_string(out.shape()), " does not match image ",
                 shape_string(image.shape()), " (expected [3, H, W])");
  for (index_t c = 0; c < 3; ++c) {
    const auto& table = norm.table[static_cast<std::size_t>(c)];
    for (index_t y = 0; y < image.size(0); ++y) {
      const std::uint8_t* src = &image(y, 0, c);
      float* dst = &out(c, y, 0);
      for (index_t x = 0; x < image.size(1); ++x) {
        dst[x * out.stride(2)] = table[src[x * image.stride(1)]];
      }
    }
  }
}

inline Tensor<float, 3> normalize_to_chw(ImageView image, const Normalization& norm) {
  Tensor<float, 3> out(Extents<3>{3, image.size(0), image.size(1)});
  normalize_to_chw(out.view(), image, norm);
  return out;
}

}  // namespace internvl::io
