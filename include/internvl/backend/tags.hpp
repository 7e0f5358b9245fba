// Backend tags and the per-backend execution context.
// A backend is an empty tag type; it is chosen once, at the model or call site, and every op
// dispatches on it at compile time (no registry, no virtual calls):
//   Context<backend::cpu> ctx;  ops::rms_norm(ctx, out, x, weight, 1e-6f);
// Context<B> carries what the backend's kernels need (threads, scratch arena, CUDA stream).
#pragma once

#include <string_view>
#include <type_traits>

#include "internvl/core/macros.hpp"

namespace internvl::backend {

// Plain, obviously correct implementations: the definition of each op and the test oracle.
struct reference {
  static constexpr std::string_view name = "reference";
};

// The fast CPU path: packed GEMM with run-time ISA dispatch, xsimd kernels, a thread pool.
struct cpu {
  static constexpr std::string_view name = "cpu";
};

// NVIDIA GPUs: cuBLASLt GEMMs, our own fused attention and reduction kernels (needs nvcc).
struct cuda {
  static constexpr std::string_view name = "cuda";
};

}  // namespace internvl::backend

namespace internvl {

// The activation (compute) element types a backend implements: f32 everywhere; the CUDA backend
// adds bf16 and f16 (it specialises this next to its Context). The cpu backend keeps activations in
// f32 but can run its matrix products on bf16 operands with f32 accumulation, a setting of its
// context (Context<backend::cpu>::set_matmul_precision, backend/cpu/precision.hpp).
template <class Backend, class T>
inline constexpr bool computes_in = std::is_same_v<T, float>;

// The activation type a model runs in on a backend unless told otherwise: f32 on the host, bf16 on
// CUDA (specialised by the CUDA backend).
template <class Backend>
struct default_activation {
  using type = float;
};
template <class Backend>
using default_activation_t = typename default_activation<Backend>::type;

// Whether the backend fuses a norm into the linear layer that reads it (ops::norm_linear runs as one
// product that normalizes its input rows while it packs them). Blocks that can place a norm either
// there or with the residual add before it (ops::scaled_residual_add_norm, one kernel on CUDA) ask
// this to pick the composition that saves passes over memory on the backend (layers/vision_block.hpp).
// The cpu backend specialises it to true next to its Context.
template <class Backend>
inline constexpr bool fuses_norm_into_linear = false;

template <class Backend>
class Context {
  static_assert(dependent_false<Backend>,
                "internvl: no Context for this backend; include <internvl/backend/reference/context.hpp>, "
                "<internvl/backend/cpu/context.hpp>, or <internvl/cuda.hpp> for backend::cuda");
};

}  // namespace internvl
