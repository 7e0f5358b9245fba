// Context<backend::cuda>: what the CUDA kernels of one device need, created once and reused by
// every op: a non-blocking stream (all work of the context is ordered on it), the cuBLASLt and cuBLAS
// handles with a shared GEMM workspace, cached cuBLASLt plans, the device's properties, a
// device-memory Workspace (core/workspace.hpp) for scratch tensors, and how GEMMs multiply f32 operands.
//   Context<backend::cuda> ctx;            // device 0
//   ops::linear(ctx, y, x, w);             // asynchronous on ctx.stream()
//   ctx.synchronize();
// Ops only enqueue work: results are visible to the host after synchronize() (or a download).
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>
#include <type_traits>

#include "internvl/backend/cuda/check.cuh"
#include "internvl/backend/cuda/gemm_plan.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/backend/tags.hpp"
#include "internvl/core/dtype.hpp"
#include "internvl/core/workspace.hpp"

namespace internvl::cuda {

// How the context's GEMMs (linear, conv2d, conv_transpose2d) multiply f32 operands; bf16 and f16 operands
// are unaffected. exact: f32 products (CUBLAS_COMPUTE_32F), the default. tf32: the operands rounded to
// TF32 (10 explicit mantissa bits) on the tensor cores, f32 accumulation (CUBLAS_COMPUTE_32F_FAST_TF32):
// what PyTorch's cuDNN convolutions do by default (torch.backends.cudnn.allow_tf32), several times faster.
enum class F32Products { exact, tf32 };

}  // namespace internvl::cuda

namespace internvl {

// CUDA computes in f32, bf16 and f16 (bf16/f16 with f32 accumulation); models run in bf16 unless told.
template <class T>
inline constexpr bool computes_in<backend::cuda, T> = is_element_type_v<T>;

template <>
struct default_activation<backend::cuda> {
  using type = bf16;
};

template <>
class Context<backend::cuda> {
 public:
  using backend_type = backend::cuda;

  // cuBLASLt's recommended workspace on Hopper.
  static constexpr std::size_t kGemmWorkspaceBytes = std::size_t{32} << 20;

  explicit Context(int device = 0) : device_(device) {
    INTERNVL_CUDA_CHECK(cudaSetDevice(device));
    INTERNVL_CUDA_CHECK(cudaGetDeviceProperties(&properties_, device));
    cudaStream_t stream = nullptr;
    INTERNVL_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    stream_.reset(stream);
    cublasLtHandle_t lt = nullptr;
    INTERNVL_CUBLAS_CHECK(cublasLtCreate(&lt));
    lt_.reset(lt);
    cublasHandle_t blas = nullptr;
    INTERNVL_CUBLAS_CHECK(cublasCreate(&blas));
    blas_.reset(blas);
    gemm_workspace_ = cuda::DeviceBuffer<std::byte>(kGemmWorkspaceBytes);
    INTERNVL_CUBLAS_CHECK(cublasSetStream(blas, stream));
    INTERNVL_CUBLAS_CHECK(cublasSetWorkspace(blas, gemm_workspace_.data(), kGemmWorkspaceBytes));
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int device() const { return device_; }
  const cudaDeviceProp& properties() const { return properties_; }
  cudaStream_t stream() const { return stream_.get(); }
  cublasLtHandle_t cublaslt() const { return lt_.get(); }
  cublasHandle_t cublas() const { return blas_.get(); }
  void* gemm_workspace() const { return gemm_workspace_.data(); }
  cuda::GemmPlanCache& gemm_plans() { return gemm_plans_; }
  cuda::F32Products f32_products() const { return f32_products_; }
  void set_f32_products(cuda::F32Products p) { f32_products_ = p; }

  // Scratch tensors in device memory; stream-ordered reuse is safe because all work of the context
  // runs on its one stream.
  Workspace<cuda::DeviceAllocator>& workspace() { return workspace_; }

  // Waits for everything enqueued so far; a fault inside a kernel surfaces here as an Error.
  void synchronize() const { INTERNVL_CUDA_CHECK(cudaStreamSynchronize(stream_.get())); }

 private:
  struct StreamDeleter {
    void operator()(cudaStream_t s) const noexcept { static_cast<void>(cudaStreamDestroy(s)); }
  };
  struct LtDeleter {
    void operator()(cublasLtHandle_t h) const noexcept { static_cast<void>(cublasLtDestroy(h)); }
  };
  struct BlasDeleter {
    void operator()(cublasHandle_t h) const noexcept { static_cast<void>(cublasDestroy(h)); }
  };

  int device_;
  cudaDeviceProp properties_{};
  std::unique_ptr<std::remove_pointer_t<cudaStream_t>, StreamDeleter> stream_;
  std::unique_ptr<std::remove_pointer_t<cublasLtHandle_t>, LtDeleter> lt_;
  std::unique_ptr<std::remove_pointer_t<cublasHandle_t>, BlasDeleter> blas_;
  cuda::DeviceBuffer<std::byte> gemm_workspace_;
  cuda::GemmPlanCache gemm_plans_;
  cuda::F32Products f32_products_ = cuda::F32Products::exact;
  Workspace<cuda::DeviceAllocator> workspace_;
};

}  // namespace internvl
