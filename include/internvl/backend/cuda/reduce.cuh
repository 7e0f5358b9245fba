// Reductions shared by the CUDA kernels (norms, softmax, attention):
//   warp_sum(v)                            sum over the 32 lanes of a warp, result in every lane
//   BlockReduceAll<kThreads>::sum(v, s, t) sum over a block (CUB's BlockReduce), result in every thread
//   BlockReduceAll<kThreads>::max(v, s, t) maximum over a block, likewise (fmaxf: NaN inputs are skipped)
// All are f32: statistics are always accumulated in f32, whatever the element type.
#pragma once

#include <cub/block/block_reduce.cuh>

namespace internvl::cuda {

__device__ __forceinline__ float warp_sum(float value) {
  for (int offset = 16; offset > 0; offset /= 2) {
    value += __shfl_xor_sync(0xFFFFFFFFu, value, offset);
  }
  return value;
}

struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

template <int kThreads>
struct BlockReduceAll {
  using Reduce = cub::BlockReduce<float, kThreads>;

  struct SharedStorage {
    typename Reduce::TempStorage reduce;
    float total;
  };

  // Every thread of the block calls these with its partial value and its index. The storage may be
  // used again only after a further __syncthreads().
  __device__ static float sum(float value, SharedStorage& storage, int thread) {
    return broadcast(Reduce(storage.reduce).Sum(value), storage, thread);
  }
  __device__ static float max(float value, SharedStorage& storage, int thread) {
    return broadcast(Reduce(storage.reduce).Reduce(value, MaxOp{}), storage, thread);
  }

 private:
  // CUB leaves the result in thread 0 only.
  __device__ static float broadcast(float total, SharedStorage& storage, int thread) {
    if (thread == 0) {
      storage.total = total;
    }
    __syncthreads();
    return storage.total;
  }
};

}  // namespace internvl::cuda
