// RMSNorm over the last dimension (InternViT-6B norms, its q/k norms, QLLaMA):
//   y[i, :] = w ⊙ x[i, :] / sqrt(mean_j x[i, j]² + eps)
// Shapes: x, y [M, D]; w [D]. Statistics in f32. y may be x (in place).
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

template <class Backend>
struct RmsNorm {
  static_assert(dependent_false<Backend>,
                "internvl: ops::rms_norm has no implementation for this backend; include "
                "<internvl/backend/<backend>/rms_norm.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void rms_norm(Context<Backend>& ctx, View<T, 2> y, std::type_identity_t<CView<T, 2>> x, CView<float, 1> w, float eps) {
  static_assert(computes_in<Backend, T>, "internvl: ops::rms_norm: this backend does not compute in this element type");
  detail::check_same_shape("ops::rms_norm", "y", y, "x", x);
  detail::check_vector("ops::rms_norm", "weight", w, x.size(1));
  detail::check_eps("ops::rms_norm", eps);
  detail::check_dense_rows("ops::rms_norm", "x", x);
  detail::check_dense_rows("ops::rms_norm", "y", y);
  detail::profiled(ctx, "ops::rms_norm", 0.0, [&] { RmsNorm<Backend>::run(ctx, y, x, w, eps); });
}

}  // namespace internvl::ops
