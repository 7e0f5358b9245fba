// Transposed 2-D convolution with kernel 2 and stride 2 (PyTorch's ConvTranspose2d(C, O, 2, 2)), the
// UperNet neck's 2× upsampling. The 2×2 output cells do not overlap, so each input pixel writes its own:
//   y[n, o, 2i + a, 2j + b] = b[o] + Σ_c x[n, c, i, j] · W[c, o, a, b]      (a, b ∈ {0, 1})
// Shapes: x [N, C, H, W], W [C, O, 2, 2] (PyTorch's layout; stored f32, bf16 or f16, contiguous),
// b [O] or empty, y [N, O, 2H, 2W]. x and y may have any strides. Other kernels and strides are refused.
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

template <class Backend>
struct ConvTranspose2d {
  static_assert(dependent_false<Backend>,
                "internvl: ops::conv_transpose2d has no implementation for this backend; include "
                "<internvl/backend/<backend>/conv_transpose2d.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void conv_transpose2d(Context<Backend>& ctx, View<T, 4> y, std::type_identity_t<CView<T, 4>> x,
                      const WeightView<4>& weight, CView<float, 1> bias = {}) {
  static_assert(computes_in<Backend, T>,
                "internvl: ops::conv_transpose2d: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::conv_transpose2d";
  INTERNVL_CHECK(weight.size(2) == 2 && weight.size(3) == 2, op,
                 "only kernel 2x2 with stride 2 is implemented; weight ", shape_string(weight), " has a ",
                 weight.size(2), "x", weight.size(3), " kernel");
  INTERNVL_CHECK(weight.size(0) == x.size(1), op, "weight ", shape_string(weight), " expects ", weight.size(0),
                 " input channels but x ", shape_string(x), " has ", x.size(1));
  detail::check_shape(op, "y", y, Extents<4>{x.size(0), weight.size(1), 2 * x.size(2), 2 * x.size(3)});
  detail::check_optional_vector(op, "bias", bias, weight.size(1));
  detail::check_contiguous(op, "weight", weight);
  detail::profiled(ctx, op, detail::multiply_add_flops(y.numel(), x.size(1)),
                   [&] { ConvTranspose2d<Backend>::run(ctx, y, x, weight, bias); });
}

}  // namespace internvl::ops
