// Reductions shared by the CUDA kernels (norms, softmax, attention):
//   warp_sum(v)                       sum over the 32 lanes of a warp, result in every lane
//   BlockSum<kThreads>::all(v, s, t)  sum over a block (CUB's BlockReduce), result in every thread
// Both are f32: statistics are always accumulated in f32, whatever the element type.
#pragma once

#include <cub/block/block_reduce.cuh>

namespace internvl::cuda {

__device__ __forceinline__ float warp_sum(float value) {
  for (int offset = 16; offset > 0; offset /= 2) {
    value += __shfl_xor_sync(0xFFFFFFFFu, value, offset);
  }
  return value;
}

template <int kThreads>
struct BlockSum {
  using Reduce = cub::BlockReduce<float, kThreads>;

  struct SharedStorage {
    typename Reduce::TempStorage reduce;
    float total;
  };

  // Every thread of the block calls it with its partial value and its index. The storage may be used
  // again only after a further __syncthreads().
  __device__ static float all(float value, SharedStorage& storage, int thread) {
    const float total = Reduce(storage.reduce).Sum(value);
    if (thread == 0) {
      storage.total = total;
    }
    __syncthreads();
    return storage.total;
  }
};

}  // namespace internvl::cuda
