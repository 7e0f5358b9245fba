// Kernel launches. A launcher computes the grid and the block, the __global__ function reads
// blockIdx/threadIdx once and hands explicit indices to the device functions that do the work
// (which therefore never touch threadIdx themselves and can be reused in other kernels).
//   cuda::launch(ctx, "rms_norm", rms_norm_kernel<NT, 256, 8>, dim3(rows), dim3(256), 0, args...);
// The launch is enqueued on the context's stream and checked; dynamic shared memory above the
// default 48 KiB is unlocked for the kernel first.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <source_location>
#include <utility>

#include "internvl/backend/cuda/check.cuh"
#include "internvl/backend/cuda/context.cuh"

namespace internvl::cuda {

INTERNVL_HOST_DEVICE constexpr index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }

// The most a CUDA grid allows in its y and z dimensions.
inline constexpr index_t kMaxGridYZ = 65535;

inline constexpr std::size_t kDefaultSharedBytes = 48 * 1024;

// Blocks for a grid-stride loop over `total` items with `threads` per block: enough to give every item
// a thread, at most 2^20 (each thread then takes several).
inline unsigned grid_stride_blocks(index_t total, int threads) {
  return static_cast<unsigned>(std::min<index_t>(ceil_div(total, threads), index_t{1} << 20));
}

template <class... Params, class... Args>
void launch(Context<backend::cuda>& ctx, const char* name, void (*kernel)(Params...), dim3 grid, dim3 block,
            std::size_t shared_bytes, Args&&... args) {
  const std::source_location here = std::source_location::current();
  if (shared_bytes > kDefaultSharedBytes) {
    INTERNVL_CUDA_CHECK(
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(shared_bytes)));
  }
  kernel<<<grid, block, shared_bytes, ctx.stream()>>>(std::forward<Args>(args)...);
  detail::check_launch(name, here.file_name(), static_cast<int>(here.line()));
}

}  // namespace internvl::cuda
