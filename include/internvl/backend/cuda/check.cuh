// Status checks for every CUDA runtime, cuBLAS and cuBLASLt call, and for kernel launches:
//   INTERNVL_CUDA_CHECK(cudaMemcpyAsync(...));     INTERNVL_CUBLAS_CHECK(cublasLtMatmul(...));
// A failure throws internvl::Error "internvl: <file>:<line>: <call> failed: <status name> (<text>)",
// so the message names the call, the file and the line.
#pragma once

#include <cublas_api.h>
#include <cuda_runtime_api.h>

#include <string>

#include "internvl/core/error.hpp"

namespace internvl::cuda::detail {

inline std::string location(const char* file, int line) { return std::string(file) + ":" + std::to_string(line); }

inline void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess) {
    static_cast<void>(cudaGetLastError());  // consumed here, so a later launch check does not report it again
    fail(location(file, line), call, " failed: ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ")");
  }
}

inline void check_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    fail(location(file, line), call, " failed: ", cublasGetStatusName(status), " (", cublasGetStatusString(status),
         ")");
  }
}

// After a kernel launch: a bad configuration shows up here, a fault inside the kernel at the next
// synchronising call.
inline void check_launch(const char* kernel, const char* file, int line) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) {
    fail(location(file, line), "launch of ", kernel, " failed: ", cudaGetErrorName(status), " (",
         cudaGetErrorString(status), ")");
  }
}

}  // namespace internvl::cuda::detail

#define INTERNVL_CUDA_CHECK(call) ::internvl::cuda::detail::check_cuda((call), #call, __FILE__, __LINE__)
#define INTERNVL_CUBLAS_CHECK(call) ::internvl::cuda::detail::check_cublas((call), #call, __FILE__, __LINE__)
