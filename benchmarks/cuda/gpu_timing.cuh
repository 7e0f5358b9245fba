// What the CUDA benchmarks share: random device data and event timing.
//   fill_uniform(ctx, view, seed, lo, hi)   device-side uniform values (never zeros: zeros run faster)
//   time_calls(state, ctx, fn)              times fn(i) with CUDA events, in batches of calls long enough
//                                           (~3 ms) that launch gaps vanish; each Google Benchmark iteration
//                                           is one batch and reports the time per call (manual time); the
//                                           median per-call time is returned for the rate counters.
// fn(i) receives the call's index so a benchmark can rotate through several input sets and measure
// memory, not the 50 MB L2 cache, when one set would fit in it.
#pragma once

#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "internvl/cuda.hpp"

namespace internvl::bench {

template <class NT>
__global__ void fill_uniform_kernel(NT* out, index_t n, std::uint32_t seed, float lo, float hi) {
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x) {
    std::uint32_t h = static_cast<std::uint32_t>(i) * 0x9E3779B9u ^ seed;  // a cheap integer hash
    h ^= h >> 16;
    h *= 0x7FEB352Du;
    h ^= h >> 15;
    h *= 0x846CA68Bu;
    h ^= h >> 16;
    out[i] = cuda::from_f32<NT>(lo + (hi - lo) * static_cast<float>(h >> 8) * (1.0f / 16777216.0f));
  }
}

template <class T, std::size_t Rank>
void fill_uniform(Context<backend::cuda>& ctx, View<T, Rank> v, std::uint32_t seed, float lo = -1.0f,
                  float hi = 1.0f) {
  cuda::launch(ctx, "fill_uniform", fill_uniform_kernel<cuda::native_t<T>>, dim3(1024), dim3(256), 0,
               cuda::native(v.data()), v.numel(), seed, lo, hi);
}

class EventPair {
 public:
  EventPair() {
    INTERNVL_CUDA_CHECK(cudaEventCreate(&start_));
    INTERNVL_CUDA_CHECK(cudaEventCreate(&stop_));
  }
  EventPair(const EventPair&) = delete;
  EventPair& operator=(const EventPair&) = delete;
  ~EventPair() {
    static_cast<void>(cudaEventDestroy(start_));
    static_cast<void>(cudaEventDestroy(stop_));
  }

  // Seconds taken on the GPU by everything fn enqueues on the context's stream.
  template <class Fn>
  double seconds(Context<backend::cuda>& ctx, Fn&& fn) {
    INTERNVL_CUDA_CHECK(cudaEventRecord(start_, ctx.stream()));
    fn();
    INTERNVL_CUDA_CHECK(cudaEventRecord(stop_, ctx.stream()));
    INTERNVL_CUDA_CHECK(cudaEventSynchronize(stop_));
    float ms = 0.0f;
    INTERNVL_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
    return ms * 1e-3;
  }

 private:
  cudaEvent_t start_ = nullptr;
  cudaEvent_t stop_ = nullptr;
};

inline constexpr double kBatchSeconds = 3e-3;

template <class Fn>
double time_calls(benchmark::State& state, Context<backend::cuda>& ctx, Fn&& fn) {
  EventPair events;
  index_t call = 0;
  const double first = events.seconds(ctx, [&] {  // warm-up: plans, module loading, clocks
    for (int i = 0; i < 3; ++i) {
      fn(call++);
    }
  }) / 3;
  const int calls = static_cast<int>(std::clamp(kBatchSeconds / std::max(first, 1e-7), 1.0, 2000.0));
  std::vector<double> per_call;
  for (auto _ : state) {
    const double batch = events.seconds(ctx, [&] {
      for (int i = 0; i < calls; ++i) {
        fn(call++);
      }
    });
    per_call.push_back(batch / calls);
    state.SetIterationTime(batch / calls);
  }
  std::sort(per_call.begin(), per_call.end());
  state.counters["calls_per_batch"] = calls;
  return per_call[per_call.size() / 2];
}

}  // namespace internvl::bench
