// How every op front door hands its call to the backend: run() directly, or timed into the context's
// OpProfile (core/op_profile.hpp) when the context has one set (contexts that offer op_profile():
// Context<backend::cpu>, whose ops are synchronous; a CUDA op returns before its kernels finish, so
// Nsight Systems is the tool there). `flops` is the op's dense multiply-add count × 2, or 0 for ops that are not
// products.
#pragma once

#include <string_view>

#include "internvl/backend/tags.hpp"
#include "internvl/core/op_profile.hpp"
#include "internvl/core/tensor_view.hpp"

namespace internvl::ops::detail {

// FLOPs of a × b multiply-adds.
inline double multiply_add_flops(index_t a, index_t b) { return 2.0 * static_cast<double>(a) * static_cast<double>(b); }

template <class Backend, class Run>
void profiled(Context<Backend>& ctx, std::string_view op, double flops, Run&& run) {
  if constexpr (requires { ctx.op_profile(); }) {
    if (OpProfile* profile = ctx.op_profile(); profile != nullptr) {
      const OpProfile::Scope scope(*profile, op, flops);
      run();
      return;
    }
  }
  run();
}

}  // namespace internvl::ops::detail
