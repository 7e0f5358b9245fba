// SwiGLU gating of QLLaMA's MLP (the part between the gate/up and the down projections):
//   out[m, f] = silu(gate[m, f]) · up[m, f],   silu(g) = g / (1 + e^−g)
// Shapes: out, gate, up [M, F] with dense rows. out may be gate or up (in place).
#pragma once

#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

template <class Backend>
struct Swiglu {
  static_assert(dependent_false<Backend>,
                "internvl: ops::swiglu has no implementation for this backend; include "
                "<internvl/backend/<backend>/swiglu.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void swiglu(Context<Backend>& ctx, View<T, 2> out, std::type_identity_t<CView<T, 2>> gate,
            std::type_identity_t<CView<T, 2>> up) {
  static_assert(computes_in<Backend, T>, "internvl: ops::swiglu: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::swiglu";
  detail::check_elementwise(op, "out", out, "gate", gate, "up", up);
  detail::profiled(ctx, op, 0.0, [&] { Swiglu<Backend>::run(ctx, out, gate, up); });
}

}  // namespace internvl::ops
