// Sliding-window inference as mmseg's slide mode (facts §6.3), for an image [1, C, H, W]:
//   windows  rows = max(H − crop + stride − 1, 0) / stride + 1 (likewise cols); window (r, c) ends at
//            min(r·stride + crop, H) and starts at max(end − crop, 0), so the last one is flush with the
//            border and an image smaller than the crop is one window of its own size
//   logits   L(x, y) = 1/n(x, y) · Σ_{windows w ∋ (x, y)} resize(logits(w), size of w)(x, y)
// with resize bilinear (align_corners False) and n(x, y) the number of windows covering the pixel.
// Official: crop 504, stride 322. The window logits come from a callback (the backbone + head), so
// this file is only the geometry and the averaging; the canvas lives on the host, [K, H, W] f32.
#pragma once

#include <algorithm>
#include <vector>

#include "internvl/backend/transfer.hpp"
#include "internvl/core/error.hpp"
#include "internvl/core/workspace.hpp"
#include "internvl/ops/resize.hpp"

namespace internvl::heads {

struct Window {
  index_t top = 0, left = 0, height = 0, width = 0;
  bool operator==(const Window&) const = default;
};

// The windows over an H × W image, row by row. A stride beyond the crop would leave pixels that no
// window covers (mmseg asserts against it too).
inline std::vector<Window> sliding_windows(index_t height, index_t width, index_t crop, index_t stride) {
  INTERNVL_CHECK(height > 0 && width > 0 && crop > 0 && stride > 0, "heads::sliding_windows", "image ", height, "x",
                 width, ", crop ", crop, " and stride ", stride, " must all be positive");
  INTERNVL_CHECK(stride <= crop, "heads::sliding_windows", "stride ", stride, " exceeds crop ", crop,
                 ": pixels between the windows would be uncovered");
  const auto count = [&](index_t length) { return std::max<index_t>(length - crop + stride - 1, 0) / stride + 1; };
  std::vector<Window> windows;
  for (index_t r = 0; r < count(height); ++r) {
    for (index_t c = 0; c < count(width); ++c) {
      const index_t bottom = std::min(r * stride + crop, height), right = std::min(c * stride + crop, width);
      const index_t top = std::max<index_t>(bottom - crop, 0), left = std::max<index_t>(right - crop, 0);
      windows.push_back({top, left, bottom - top, right - left});
    }
  }
  return windows;
}

// The averaged logits [K, H, W] on the host. logits_of(ctx, window) gets the window's pixels
// [1, C, h, w] (a view into `image`) and returns its f32 logits [1, K, h', w'] (any size, taken from the
// workspace inside the scope this function opens per window), which are resized in f32.
template <class Backend, class T, class WindowLogits>
Tensor<float, 3> slide_logits(Context<Backend>& ctx, CView<T, 4> image, index_t crop, index_t stride, index_t classes,
                              WindowLogits&& logits_of) {
  INTERNVL_CHECK(image.size(0) == 1, "heads::slide_logits", "expects one image, got a batch of ", image.size(0));
  const index_t height = image.size(2), width = image.size(3);
  Tensor<float, 3> sum(Extents<3>{classes, height, width}, 0.0f);
  Tensor<float, 2> count(Extents<2>{height, width}, 0.0f);
  for (const Window& win : sliding_windows(height, width, crop, stride)) {
    auto scope = ctx.workspace().scope();
    const CView<T, 4> pixels = image.slice(2, win.top, win.top + win.height).slice(3, win.left, win.left + win.width);
    const CView<float, 4> logits = logits_of(ctx, pixels);
    INTERNVL_CHECK(logits.size(0) == 1 && logits.size(1) == classes, "heads::slide_logits", "window logits ",
                   shape_string(logits), " are not [1, ", classes, ", h, w]");
    View<float, 4> resized = ctx.workspace().template tensor<float>(Extents<4>{1, classes, win.height, win.width});
    ops::resize(ctx, resized, logits, ops::ResizeMode::bilinear);
    const Tensor<float, 4> host = to_host(ctx, CView<float, 4>(resized));
    for (index_t k = 0; k < classes; ++k) {
      for (index_t y = 0; y < win.height; ++y) {
        for (index_t x = 0; x < win.width; ++x) {
          sum(k, win.top + y, win.left + x) += host(0, k, y, x);
        }
      }
    }
    for (index_t y = 0; y < win.height; ++y) {
      for (index_t x = 0; x < win.width; ++x) {
        count(win.top + y, win.left + x) += 1.0f;
      }
    }
  }
  for (index_t k = 0; k < classes; ++k) {
    for (index_t y = 0; y < height; ++y) {
      for (index_t x = 0; x < width; ++x) {
        sum(k, y, x) /= count(y, x);
      }
    }
  }
  return sum;
}

}  // namespace internvl::heads
