// BatchNorm in inference mode (the classification and segmentation heads), per channel c:
//   y = (x − running_mean[c]) / sqrt(running_var[c] + eps) · w[c] + b[c]
// over NCHW maps, x, y [N, C, H, W] (dense H×W planes), or feature rows, x, y [N, C] (dense rows);
// running statistics and affine parameters [C]. y may be x (in place).
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

// The per-channel parameters of an inference-mode BatchNorm, each [C].
struct BatchNormParams {
  CView<float, 1> running_mean;
  CView<float, 1> running_var;
  CView<float, 1> weight;
  CView<float, 1> bias;
  float eps;
};

template <class Backend>
struct BatchNorm {
  static_assert(dependent_false<Backend>,
                "internvl: ops::batch_norm has no implementation for this backend; include "
                "<internvl/backend/<backend>/batch_norm.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T, std::size_t Rank>
  requires(Rank == 2 || Rank == 4)
void batch_norm(Context<Backend>& ctx, View<T, Rank> y, std::type_identity_t<CView<T, Rank>> x,
                CView<float, 1> running_mean, CView<float, 1> running_var, CView<float, 1> w, CView<float, 1> b,
                float eps) {
  static_assert(computes_in<Backend, T>, "internvl: ops::batch_norm: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::batch_norm";
  detail::check_channel_norm(op, y, x, w, b, eps);
  detail::check_vector(op, "running_mean", running_mean, x.size(1));
  detail::check_vector(op, "running_var", running_var, x.size(1));
  detail::profiled(ctx, op, 0.0, [&] {
    BatchNorm<Backend>::run(ctx, y, x, BatchNormParams{running_mean, running_var, w, b, eps});
  });
}

}  // namespace internvl::ops
