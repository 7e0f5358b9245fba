// Runs the GEMM of ops::linear on CUDA:  y[m, n] = x[m, k] · w[n, k]ᵀ (+ bias[n])
// with f32 accumulation, through a cached cuBLASLt plan (gemm_plan.cuh). x, w and y share one dtype;
// f32 operands are multiplied exactly or as TF32, as the context says (context.cuh).
//   gemm_lt      cuBLASLt with a given epilogue; false when cuBLASLt offers (or runs) no algorithm
//   gemm_cublas  cublasGemmEx, which takes any shape; never applies an epilogue
//   gemm         gemm_lt (with the bias epilogue when a bias is given), gemm_cublas when cuBLASLt
//                refuses; returns whether the bias was applied (if not, the caller adds it)
// The bias given to cuBLASLt has the dtype of y (cuBLASLt's rule for bf16/f16 outputs).
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>

#include <climits>
#include <type_traits>

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/gemm_plan.cuh"
#include "internvl/backend/cuda/native_types.cuh"

namespace internvl::cuda {

namespace detail {

// A matrix's row pitch as cuBLAS sees it: a single row may have any stride, but cuBLAS wants ld >= cols.
template <class T>
index_t pitch_of(const TensorView<T, 2>& v) {
  return v.size(0) == 1 ? std::max(v.stride(0), v.size(1)) : v.stride(0);
}

// The cuBLAS compute type of a product of T operands on this context.
template <class T>
cublasComputeType_t compute_type(const Context<backend::cuda>& ctx) {
  return std::is_same_v<T, float> && ctx.f32_products() == F32Products::tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                                             : CUBLAS_COMPUTE_32F;
}

}  // namespace detail

template <class T>
bool gemm_lt(Context<backend::cuda>& ctx, View<T, 2> y, CView<T, 2> x, CView<T, 2> w, const T* bias,
             cublasLtEpilogue_t epilogue) {
  const GemmProblem problem{
      .type = data_type<T>(),
      .compute = detail::compute_type<T>(ctx),
      .m = x.size(0),
      .n = w.size(0),
      .k = x.size(1),
      .ldx = detail::pitch_of(x),
      .ldw = detail::pitch_of(w),
      .ldy = detail::pitch_of(y),
      .align_x = alignment_of(x.data(), detail::pitch_of(x) * index_t{sizeof(T)}),
      .align_w = alignment_of(w.data(), detail::pitch_of(w) * index_t{sizeof(T)}),
      .align_y = alignment_of(y.data(), detail::pitch_of(y) * index_t{sizeof(T)}),
      .align_bias = bias != nullptr ? alignment_of(bias, 0) : 0u,
      .epilogue = epilogue,
  };
  GemmPlan& plan = ctx.gemm_plans().get(ctx.cublaslt(), problem, bias, Context<backend::cuda>::kGemmWorkspaceBytes);
  return plan.usable() && plan.run(ctx.cublaslt(), ctx.stream(), x.data(), w.data(), y.data(), bias,
                                   ctx.gemm_workspace(), Context<backend::cuda>::kGemmWorkspaceBytes);
}

template <class T>
void gemm_cublas(Context<backend::cuda>& ctx, View<T, 2> y, CView<T, 2> x, CView<T, 2> w) {
  const index_t m = x.size(0), n = w.size(0), k = x.size(1);
  const index_t ldx = detail::pitch_of(x), ldw = detail::pitch_of(w), ldy = detail::pitch_of(y);
  INTERNVL_CHECK(std::max({m, n, k, ldx, ldw, ldy}) <= INT_MAX, "ops::linear", "GEMM of ", m, "x", k, " by ", k, "x",
                 n, " is too large for cuBLAS");
  const float alpha = 1.0f, beta = 0.0f;
  INTERNVL_CUBLAS_CHECK(cublasGemmEx(ctx.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m),
                                     static_cast<int>(k), &alpha, w.data(), data_type<T>(), static_cast<int>(ldw),
                                     x.data(), data_type<T>(), static_cast<int>(ldx), &beta, y.data(), data_type<T>(),
                                     static_cast<int>(ldy), detail::compute_type<T>(ctx), CUBLAS_GEMM_DEFAULT));
}

template <class T>
bool gemm(Context<backend::cuda>& ctx, View<T, 2> y, CView<T, 2> x, CView<T, 2> w, const T* bias) {
  if (bias != nullptr && gemm_lt(ctx, y, x, w, bias, CUBLASLT_EPILOGUE_BIAS)) {
    return true;
  }
  if (!gemm_lt(ctx, y, x, w, static_cast<const T*>(nullptr), CUBLASLT_EPILOGUE_DEFAULT)) {
    gemm_cublas(ctx, y, x, w);
  }
  return false;
}

}  // namespace internvl::cuda
