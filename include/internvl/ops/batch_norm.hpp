// BatchNorm in inference mode (the classification and segmentation heads), per channel c:
//   y = (x − running_mean[c]) / sqrt(running_var[c] + eps) · w[c] + b[c]
// over NCHW maps, x, y [N, C, H, W] (dense H×W planes), or feature rows, x, y [N, C] (dense rows);
// running statistics and affine parameters [C]. y may be x (in place).
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"

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

namespace detail {

inline void check_batch_norm_params(std::string_view op, const BatchNormParams& p, index_t channels) {
  check_vector(op, "running_mean", p.running_mean, channels);
  check_vector(op, "running_var", p.running_var, channels);
  check_vector(op, "weight", p.weight, channels);
  check_vector(op, "bias", p.bias, channels);
  check_eps(op, p.eps);
}

}  // namespace detail

template <class Backend, class T>
void batch_norm(Context<Backend>& ctx, View<T, 4> y, std::type_identity_t<CView<T, 4>> x,
                CView<float, 1> running_mean, CView<float, 1> running_var, CView<float, 1> w, CView<float, 1> b,
                float eps) {
  static_assert(computes_in<Backend, T>, "internvl: ops::batch_norm: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::batch_norm";
  const BatchNormParams params{running_mean, running_var, w, b, eps};
  detail::check_same_shape(op, "y", y, "x", x);
  detail::check_batch_norm_params(op, params, x.size(1));
  detail::check_dense_planes(op, "x", x);
  detail::check_dense_planes(op, "y", y);
  BatchNorm<Backend>::run(ctx, y, x, params);
}

template <class Backend, class T>
void batch_norm(Context<Backend>& ctx, View<T, 2> y, std::type_identity_t<CView<T, 2>> x,
                CView<float, 1> running_mean, CView<float, 1> running_var, CView<float, 1> w, CView<float, 1> b,
                float eps) {
  static_assert(computes_in<Backend, T>, "internvl: ops::batch_norm: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::batch_norm";
  const BatchNormParams params{running_mean, running_var, w, b, eps};
  detail::check_same_shape(op, "y", y, "x", x);
  detail::check_batch_norm_params(op, params, x.size(1));
  detail::check_dense_rows(op, "x", x);
  detail::check_dense_rows(op, "y", y);
  BatchNorm<Backend>::run(ctx, y, x, params);
}

}  // namespace internvl::ops
