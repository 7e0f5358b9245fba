// InternVL-Chat's pixel shuffle (downsample ratio 0.5, facts §4.3): each 2×2 neighbourhood of the
// G×G patch grid (class token already dropped) becomes one token of 4C channels,
//   out[b, t(R, c), a·2C + e·C + ch] = in[b, (2R + a)·G + 2c + e, ch]     a, e ∈ {0, 1}
// with t(R, c) = R·G/2 + c for ps_version v2 (V1-5 and later) and c·G/2 + R for v1 (V1-2).
// Shapes: in [B, G², C] with G even; out [B, G²/4, 4C].
#pragma once

#include <cmath>
#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

enum class PixelShuffleVersion { v1, v2 };

template <class Backend>
struct PixelShuffle {
  static_assert(dependent_false<Backend>,
                "internvl: ops::pixel_shuffle has no implementation for this backend; include "
                "<internvl/backend/<backend>/pixel_shuffle.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void pixel_shuffle(Context<Backend>& ctx, View<T, 3> out, std::type_identity_t<CView<T, 3>> in,
                   PixelShuffleVersion version) {
  static_assert(computes_in<Backend, T>, "internvl: ops::pixel_shuffle: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::pixel_shuffle";
  const auto grid = static_cast<index_t>(std::llround(std::sqrt(static_cast<double>(in.size(1)))));
  INTERNVL_CHECK(grid * grid == in.size(1) && grid % 2 == 0, op, "needs a square grid of even side, got ",
                 in.size(1), " tokens");
  detail::check_shape(op, "out", out, Extents<3>{in.size(0), in.size(1) / 4, 4 * in.size(2)});
  detail::check_dense_rows(op, "in", in);
  detail::check_dense_rows(op, "out", out);
  detail::profiled(ctx, op, 0.0, [&] { PixelShuffle<Backend>::run(ctx, out, in, grid, version); });
}

}  // namespace internvl::ops
