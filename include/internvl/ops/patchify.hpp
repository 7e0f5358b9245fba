// Patchify: cut an image batch into non-overlapping P×P patches, one row per patch, so that the
// patch embedding (a P×P convolution with stride P) becomes one linear layer:
//   patches[b, y·Gw + x, c·P·P + i·P + j] = pixels[b, c, y·P + i, x·P + j]
// Shapes: pixels [B, C, H, W] with H, W multiples of P; patches [B, Gh·Gw, C·P·P], Gh = H/P, Gw = W/P.
// The column order matches a PyTorch Conv2d weight [D, C, P, P] viewed as [D, C·P·P].
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

template <class Backend>
struct Patchify {
  static_assert(dependent_false<Backend>,
                "internvl: ops::patchify has no implementation for this backend; include "
                "<internvl/backend/<backend>/patchify.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void patchify(Context<Backend>& ctx, View<T, 3> patches, std::type_identity_t<CView<T, 4>> pixels, index_t patch) {
  static_assert(computes_in<Backend, T>, "internvl: ops::patchify: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::patchify";
  INTERNVL_CHECK(patch >= 1 && pixels.size(2) % patch == 0 && pixels.size(3) % patch == 0, op, "image of ",
                 pixels.size(2), "x", pixels.size(3), " pixels is not a whole number of ", patch, "x", patch,
                 " patches");
  const index_t grid_h = pixels.size(2) / patch, grid_w = pixels.size(3) / patch;
  detail::check_shape(op, "patches", patches, Extents<3>{pixels.size(0), grid_h * grid_w, pixels.size(1) * patch * patch});
  detail::check_dense_rows(op, "pixels", pixels);
  detail::check_dense_rows(op, "patches", patches);
  detail::profiled(ctx, op, 0.0, [&] { Patchify<Backend>::run(ctx, patches, pixels, patch); });
}

}  // namespace internvl::ops
