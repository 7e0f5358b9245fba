// Linear layer (every projection of every model):
//   y[m, n] = act( Σ_k x[m, k] · W[n, k] + b[n] )
// Shapes: x [M, K], W [N, K] (PyTorch's [out, in]), b [N] or empty, y [M, N]. Batches of tokens or
// images are rows: flatten [B, S, K] to [B·S, K]. W stays in its stored dtype (f32, bf16 or f16);
// products accumulate in f32. act is the identity or exact-erf GELU.
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

enum class Activation { none, gelu };

template <class Backend>
struct Linear {
  static_assert(dependent_false<Backend>,
                "internvl: ops::linear has no implementation for this backend; include "
                "<internvl/backend/<backend>/linear.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void linear(Context<Backend>& ctx, View<T, 2> y, std::type_identity_t<CView<T, 2>> x, const WeightView<2>& w,
            CView<float, 1> bias = {}, Activation act = Activation::none) {
  static_assert(computes_in<Backend, T>, "internvl: ops::linear: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::linear";
  detail::check_linear(op, "y", y, "x", x, w, bias);
  detail::profiled(ctx, op, detail::multiply_add_flops(x.size(0) * w.size(0), w.size(1)),
                   [&] { Linear<Backend>::run(ctx, y, x, w, bias, act); });
}

}  // namespace internvl::ops
