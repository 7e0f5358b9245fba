// Image resampling, exactly PyTorch's F.interpolate(x, size=(Ho, Wo), mode, align_corners=False)
// without antialiasing, in f32: the positional-embedding grid (bicubic) and segmentation logits
// (bilinear). Separable: along each axis, output index d reads the input at the source coordinate
//   s = (d + 0.5) · in/out − 0.5
// bilinear: s clamped to >= 0, the two neighbours floor(s) and floor(s) + 1 (kept inside the axis),
//           weights 1 − t and t with t = s − floor(s);
// bicubic:  the four neighbours floor(s) − 1 .. floor(s) + 2 (indices clamped to the border), weights
//           of Keys' cubic convolution with A = −0.75 at distances 1 + t, t, 1 − t, 2 − t.
//   y[n, c, i, j] = Σ_a wy_a(i) · Σ_b wx_b(j) · x[n, c, iy_a(i), ix_b(j)]
// Shapes: x [N, C, H, W], y [N, C, Ho, Wo], all sizes >= 1; any strides. Same size is the identity.
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

enum class ResizeMode { bilinear, bicubic };

template <class Backend>
struct Resize {
  static_assert(dependent_false<Backend>,
                "internvl: ops::resize has no implementation for this backend; include "
                "<internvl/backend/<backend>/resize.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void resize(Context<Backend>& ctx, View<T, 4> y, std::type_identity_t<CView<T, 4>> x, ResizeMode mode) {
  static_assert(computes_in<Backend, T>, "internvl: ops::resize: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::resize";
  INTERNVL_CHECK(x.size(2) >= 1 && x.size(3) >= 1, op, "x ", shape_string(x), " has no pixels");
  INTERNVL_CHECK(y.size(2) >= 1 && y.size(3) >= 1, op, "y ", shape_string(y), " asks for an empty output");
  INTERNVL_CHECK(y.size(0) == x.size(0) && y.size(1) == x.size(1), op, "y ", shape_string(y), " and x ",
                 shape_string(x), " disagree on batch or channels");
  detail::profiled(ctx, op, 0.0, [&] { Resize<Backend>::run(ctx, y, x, mode); });
}

}  // namespace internvl::ops
