// ops::linear on CUDA:  y[m, n] = act( Σ_k x[m, k] · W[n, k] + b[n] ),  f32 accumulation.
// x, W and y share one element type (bf16 or f16, or f32 for checking): convert weights once at load
// time. The product runs through cuBLASLt (gemm.cuh):
//   - no activation: the bias is fused as cuBLASLt's BIAS epilogue (cuBLASLt wants it in y's dtype,
//     so it is rounded to bf16/f16 first, a 2^-9 relative change at most);
//   - GELU: cuBLASLt documents its GELU epilogue only as "GELU", and what others report points to the
//     tanh approximation, while this library's GELU is the exact erf form; so the GEMM runs without
//     epilogue and our bias_activation kernel applies bias + exact GELU in one pass (the CUDA test
//     "cuBLASLt GELU epilogue form" measures which form cuBLASLt computes; docs/cuda.md).
// All pointers must be device memory.
#pragma once

#include <cuda_runtime_api.h>

#include "internvl/backend/cuda/bias_activation.cuh"
#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/gemm.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/ops/linear.hpp"

namespace internvl::ops {

template <>
struct Linear<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 2> y, CView<T, 2> x, const WeightView<2>& weight,
                  CView<float, 1> bias, Activation act) {
    constexpr std::string_view op = "ops::linear";
    cuda::detail::check_weight_dtype<T>(op, weight);
    const CView<T, 2> w = weight.as<T>();
    const index_t m = x.size(0), n = w.size(0), k = x.size(1);
    if (m == 0 || n == 0) {
      return;
    }
    cuda::detail::check_on_device(op, "x", x);
    cuda::detail::check_on_device(op, "weight", w);
    cuda::detail::check_on_device(op, "y", y);
    cuda::detail::check_on_device(op, "bias", bias);
    INTERNVL_CHECK(m == 1 || x.stride(0) >= k, op, "rows of x overlap (row stride ", x.stride(0), " < ", k, ")");
    INTERNVL_CHECK(n == 1 || w.stride(0) >= k, op, "rows of the weight overlap (row stride ", w.stride(0), " < ", k,
                   ")");
    INTERNVL_CHECK(m == 1 || y.stride(0) >= n, op, "rows of y overlap (row stride ", y.stride(0), " < ", n, ")");
    const bool has_bias = bias.data() != nullptr;
    if (k == 0) {  // an empty sum: y = act(b)
      INTERNVL_CUDA_CHECK(cudaMemset2DAsync(y.data(), static_cast<std::size_t>(cuda::detail::pitch_of(y)) * sizeof(T), 0,
                                            static_cast<std::size_t>(n) * sizeof(T), static_cast<std::size_t>(m),
                                            ctx.stream()));
      cuda::bias_activation(ctx, y, bias, act);
      return;
    }
    auto scope = ctx.workspace().scope();
    const bool fuse_bias = has_bias && act == Activation::none;
    const T* epilogue_bias = fuse_bias ? cuda::convert_vector<T>(ctx, bias) : nullptr;
    const bool bias_applied = cuda::gemm(ctx, y, x, w, epilogue_bias);
    if ((has_bias && !bias_applied) || act != Activation::none) {
      cuda::bias_activation(ctx, y, bias_applied ? CView<float, 1>{} : bias, act);
    }
  }
};

}  // namespace internvl::ops
