// Semantic segmentation of an image, mmseg's evaluation procedure (facts §6.3):
//   1. input    the shorter side resized to the head's crop size, both sides up to multiples of the
//               patch size (cv2 bilinear), mmseg normalisation: io/segmentation_input.hpp
//   2. logits   slide: windows of crop_size at steps of stride, averaged (sliding_window.hpp);
//               whole: one window covering the whole resized image
//   3. resize   the [K, H', W'] logits bilinearly (align_corners False) back to the image's H × W
//   4. classes  argmax over K at each pixel (the first maximum on ties, and NaN counts as the
//               maximum, as torch.argmax)
// segment() returns the logits of step 3 [K, H, W]; argmax_classes() is step 4.
#pragma once

#include <algorithm>
#include <cstdint>

#include "internvl/heads/segmentation_head.hpp"
#include "internvl/heads/sliding_window.hpp"
#include "internvl/io/segmentation_input.hpp"

namespace internvl::heads {

enum class Inference { whole, slide };

// Step 2 for a preprocessed input [1, 3, H', W'] on the host: logits [K, H', W'] on the host.
template <class Backend, class T>
Tensor<float, 3> segmentation_logits(Context<Backend>& ctx, models::VisionEncoder<Backend, T>& model,
                                     const SegmentationHead<Backend, T>& head, CView<float, 4> input, Inference mode) {
  const HeadDescription& d = head.description();
  const bool slide = mode == Inference::slide;
  const index_t crop = slide ? d.crop_size : std::max(input.size(2), input.size(3));
  auto scope = ctx.workspace().scope();
  const CView<T, 4> pixels = to_backend<T>(ctx, input);
  return slide_logits(
      ctx, pixels, crop, slide ? d.stride : crop, head.num_classes(),
      [&](Context<Backend>& c, CView<T, 4> window) { return CView<float, 4>(head.logits(c, model, window)); });
}

// Step 3: logits [K, H', W'] resized to [K, height, width] (in f32 on the backend, result on the host).
template <class Backend>
Tensor<float, 3> resize_logits(Context<Backend>& ctx, CView<float, 3> logits, index_t height, index_t width) {
  auto scope = ctx.workspace().scope();
  const index_t classes = logits.size(0);
  const CView<float, 4> in =
      to_backend<float>(ctx, logits.reshape(Extents<4>{1, classes, logits.size(1), logits.size(2)}));
  View<float, 4> out = ctx.workspace().template tensor<float>(Extents<4>{1, classes, height, width});
  ops::resize(ctx, out, in, ops::ResizeMode::bilinear);
  const Tensor<float, 4> host = to_host(ctx, CView<float, 4>(out));
  Tensor<float, 3> resized(Extents<3>{classes, height, width});
  std::copy_n(host.data(), host.numel(), resized.data());
  return resized;
}

// Steps 1-3 for an RGB image [H, W, 3]: logits [K, H, W] at the image's own size.
template <class Backend, class T>
Tensor<float, 3> segment(Context<Backend>& ctx, models::VisionEncoder<Backend, T>& model,
                         const SegmentationHead<Backend, T>& head, io::ImageView image, Inference mode) {
  const io::SegmentationResize resize{.short_side = head.description().crop_size,
                                      .size_divisor = model.config().patch_size};
  const Tensor<float, 3> input = io::segmentation_input(image, resize);
  const CView<float, 4> batch = input.view().reshape(Extents<4>{1, input.size(0), input.size(1), input.size(2)});
  const Tensor<float, 3> logits = segmentation_logits(ctx, model, head, batch, mode);
  return resize_logits(ctx, logits.view(), image.size(0), image.size(1));
}

// Step 4: the class of each pixel, [H, W], from logits [K, H, W].
inline Tensor<std::int32_t, 2> argmax_classes(CView<float, 3> logits) {
  const index_t classes = logits.size(0), height = logits.size(1), width = logits.size(2);
  Tensor<std::int32_t, 2> best(Extents<2>{height, width}, 0);
  for (index_t y = 0; y < height; ++y) {
    for (index_t x = 0; x < width; ++x) {
      float top = logits(0, y, x);
      for (index_t k = 1; k < classes; ++k) {
        const float v = logits(k, y, x);
        if (top == top && (v > top || v != v)) {  // once NaN is on top it stays
          top = v;
          best(y, x) = static_cast<std::int32_t>(k);
        }
      }
    }
  }
  return best;
}

}  // namespace internvl::heads
