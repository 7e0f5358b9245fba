// 2-D convolution (cross-correlation, as PyTorch's F.conv2d), groups = 1, dilation = 1:
//   y[n, o, i, j] = b[o] + Σ_{c, u, v} x[n, c, i·sh − ph + u, j·sw − pw + v] · W[o, c, u, v]
// with x read as 0 outside the image. Shapes: x [N, C, H, W], W [O, C, kh, kw] (stored f32, bf16 or
// f16, contiguous), b [O] or empty, y [N, O, Ho, Wo] with Ho = (H + 2·ph − kh) / sh + 1 (likewise Wo).
// x and y may have any strides, e.g. y can be the view [N, D, Gh, Gw] of a token buffer [N, Gh·Gw, D].
// Used for the patch embedding (kernel = stride = 14) and the UperNet head's 1×1 and 3×3 convs.
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

// Output extent of a convolution along one axis (the caller has checked in + 2·padding >= kernel).
constexpr index_t conv_output_size(index_t in, index_t kernel, index_t stride, index_t padding) {
  return (in + 2 * padding - kernel) / stride + 1;
}

template <class Backend>
struct Conv2d {
  static_assert(dependent_false<Backend>,
                "internvl: ops::conv2d has no implementation for this backend; include "
                "<internvl/backend/<backend>/conv2d.hpp> (or <internvl/cuda.hpp>)");
};

// stride and padding are {along H, along W}.
template <class Backend, class T>
void conv2d(Context<Backend>& ctx, View<T, 4> y, std::type_identity_t<CView<T, 4>> x, const WeightView<4>& weight,
            CView<float, 1> bias = {}, Extents<2> stride = {1, 1}, Extents<2> padding = {0, 0}) {
  static_assert(computes_in<Backend, T>, "internvl: ops::conv2d: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::conv2d";
  INTERNVL_CHECK(stride[0] >= 1 && stride[1] >= 1, op, "stride must be positive, got ", shape_string(stride));
  INTERNVL_CHECK(padding[0] >= 0 && padding[1] >= 0, op, "padding must not be negative, got ", shape_string(padding));
  INTERNVL_CHECK(weight.size(0) >= 1 && weight.size(2) >= 1 && weight.size(3) >= 1, op, "weight ", shape_string(weight),
                 " has an empty dimension");
  INTERNVL_CHECK(weight.size(1) == x.size(1), op, "weight ", shape_string(weight), " expects ", weight.size(1),
                 " input channels but x ", shape_string(x), " has ", x.size(1));
  const index_t padded_h = x.size(2) + 2 * padding[0];
  const index_t padded_w = x.size(3) + 2 * padding[1];
  INTERNVL_CHECK(weight.size(2) <= padded_h && weight.size(3) <= padded_w, op, "kernel ", weight.size(2), "x",
                 weight.size(3), " is larger than the padded input ", padded_h, "x", padded_w, " (x ", shape_string(x),
                 ", padding ", shape_string(padding), ")");
  detail::check_shape(
      op, "y", y,
      Extents<4>{x.size(0), weight.size(0), conv_output_size(x.size(2), weight.size(2), stride[0], padding[0]),
                 conv_output_size(x.size(3), weight.size(3), stride[1], padding[1])});
  detail::check_optional_vector(op, "bias", bias, weight.size(0));
  detail::check_contiguous(op, "weight", weight);
  detail::profiled(ctx, op, detail::multiply_add_flops(y.numel(), weight.size(1) * weight.size(2) * weight.size(3)),
                   [&] { Conv2d<Backend>::run(ctx, y, x, weight, bias, stride, padding); });
}

}  // namespace internvl::ops
