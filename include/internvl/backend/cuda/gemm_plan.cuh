// cuBLASLt plans for the GEMM behind ops::linear: y[m, n] = x[m, k] · w[n, k]ᵀ, row-major, f32
// accumulation: CUBLAS_COMPUTE_32F, which takes no TF32 shortcut for f32 data, unless the context
// asks for TF32 products of f32 operands (CUBLAS_COMPUTE_32F_FAST_TF32, context.cuh).
// cuBLAS is column-major, so the row-major product is computed as its transpose:
//   yᵀ [n × m] = (w seen as a k × n column-major matrix)ᵀ · (x seen as a k × m column-major matrix)
// A plan holds the descriptors of one problem (shape, strides, pointer alignments, epilogue) and the
// algorithm cuBLASLt's heuristic chose for it; the context caches plans, so each problem meets the
// heuristic once. gemm.cuh runs them.
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>

#include "internvl/backend/cuda/check.cuh"
#include "internvl/core/tensor_view.hpp"

namespace internvl::cuda {

// Largest power of two (at most 256) dividing the address and the row pitch in bytes: what cuBLASLt
// may assume about every row of the matrix.
inline std::uint32_t alignment_of(const void* p, index_t row_pitch_bytes) {
  const auto bits = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p)) |
                    static_cast<std::uint64_t>(row_pitch_bytes) | 256u;
  return static_cast<std::uint32_t>(bits & (~bits + 1));  // lowest set bit
}

// Everything the cuBLASLt descriptors and the heuristic depend on.
struct GemmProblem {
  cudaDataType_t type;  // of x, w and y
  cublasComputeType_t compute;
  index_t m, n, k;
  index_t ldx, ldw, ldy;  // row strides in elements
  std::uint32_t align_x, align_w, align_y, align_bias;
  cublasLtEpilogue_t epilogue;  // CUBLASLT_EPILOGUE_DEFAULT, _BIAS (bias in the type of y), _GELU, ...

  auto operator<=>(const GemmProblem&) const = default;
};

// The descriptors of one problem and the algorithm cuBLASLt chose for it (if it offered one).
class GemmPlan {
 public:
  GemmPlan(cublasLtHandle_t lt, const GemmProblem& p, const void* bias, std::size_t workspace_bytes) {
    INTERNVL_CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc_, p.compute, CUDA_R_32F));
    const cublasOperation_t transpose = CUBLAS_OP_T, keep = CUBLAS_OP_N;
    set(CUBLASLT_MATMUL_DESC_TRANSA, transpose);
    set(CUBLASLT_MATMUL_DESC_TRANSB, keep);
    set(CUBLASLT_MATMUL_DESC_EPILOGUE, p.epilogue);
    if (bias != nullptr) {
      set(CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias);  // the heuristic reads its alignment
    }
    INTERNVL_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&w_, p.type, static_cast<std::uint64_t>(p.k),
                                                     static_cast<std::uint64_t>(p.n), p.ldw));
    INTERNVL_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&x_, p.type, static_cast<std::uint64_t>(p.k),
                                                     static_cast<std::uint64_t>(p.m), p.ldx));
    INTERNVL_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&y_, p.type, static_cast<std::uint64_t>(p.n),
                                                     static_cast<std::uint64_t>(p.m), p.ldy));

    cublasLtMatmulPreference_t preference = nullptr;
    INTERNVL_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&preference));
    const std::uint64_t max_workspace = workspace_bytes;
    const auto prefer = [&](cublasLtMatmulPreferenceAttributes_t attribute, const auto& value) {
      INTERNVL_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(preference, attribute, &value, sizeof(value)));
    };
    prefer(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, max_workspace);
    prefer(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, p.align_w);
    prefer(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, p.align_x);
    prefer(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, p.align_y);
    prefer(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, p.align_y);
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    // A refusal (an error status or no result) is not an error: the caller falls back to cublasGemmEx.
    const cublasStatus_t status =
        cublasLtMatmulAlgoGetHeuristic(lt, desc_, w_, x_, y_, y_, preference, 1, &result, &found);
    static_cast<void>(cublasLtMatmulPreferenceDestroy(preference));
    usable_ = status == CUBLAS_STATUS_SUCCESS && found > 0 && result.state == CUBLAS_STATUS_SUCCESS;
    algo_ = result.algo;
  }
  GemmPlan(const GemmPlan&) = delete;
  GemmPlan& operator=(const GemmPlan&) = delete;
  ~GemmPlan() {
    static_cast<void>(cublasLtMatrixLayoutDestroy(y_));
    static_cast<void>(cublasLtMatrixLayoutDestroy(x_));
    static_cast<void>(cublasLtMatrixLayoutDestroy(w_));
    static_cast<void>(cublasLtMatmulDescDestroy(desc_));
  }

  bool usable() const { return usable_; }

  // Enqueues the product; false (and the plan is retired) if cuBLASLt refuses the algorithm it chose.
  bool run(cublasLtHandle_t lt, cudaStream_t stream, const void* x, const void* w, void* y, const void* bias,
           void* workspace, std::size_t workspace_bytes) {
    if (bias != nullptr) {
      set(CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias);
    }
    const float alpha = 1.0f, beta = 0.0f;
    const cublasStatus_t status = cublasLtMatmul(lt, desc_, &alpha, w, w_, x, x_, &beta, y, y_, y, y_, &algo_,
                                                 workspace, workspace_bytes, stream);
    if (status == CUBLAS_STATUS_NOT_SUPPORTED || status == CUBLAS_STATUS_INVALID_VALUE) {
      usable_ = false;
      return false;
    }
    INTERNVL_CUBLAS_CHECK(status);
    return true;
  }

 private:
  template <class V>
  void set(cublasLtMatmulDescAttributes_t attribute, const V& value) {
    INTERNVL_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc_, attribute, &value, sizeof(value)));
  }

  cublasLtMatmulDesc_t desc_ = nullptr;
  cublasLtMatrixLayout_t w_ = nullptr, x_ = nullptr, y_ = nullptr;
  cublasLtMatmulAlgo_t algo_{};
  bool usable_ = false;
};

// Plans by problem; lives in the context, so each problem meets the heuristic once.
class GemmPlanCache {
 public:
  GemmPlan& get(cublasLtHandle_t lt, const GemmProblem& p, const void* bias, std::size_t workspace_bytes) {
    auto it = plans_.find(p);
    if (it == plans_.end()) {
      it = plans_.emplace(p, std::make_unique<GemmPlan>(lt, p, bias, workspace_bytes)).first;
    }
    return *it->second;
  }
  std::size_t size() const { return plans_.size(); }

 private:
  std::map<GemmProblem, std::unique_ptr<GemmPlan>> plans_;
};

}  // namespace internvl::cuda
