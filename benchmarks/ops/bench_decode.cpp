// QLLaMA's decoding step (captioning, models/captioning.hpp) on the cpu backend: each generated token
// reads every weight matrix once for a handful of rows (one per beam), so the step is bound by memory
// bandwidth, not arithmetic.
//   BM_decode_linear/M/N/K  ops::linear y [M, N] = x [M, K]·Wᵀ, W [N, K] stored in bf16 as in QLLaMA's
//                           checkpoint, at M = 1 (greedy), 5 (the protocol's beams) and 8 (the most rows
//                           streamed) and QLLaMA's shapes:
//                           q/k/v/o [4096, 4096], gate/up [11008, 4096], down [4096, 11008], lm_head
//                           [49954, 4096]. weight_GB/s: W's bf16 bytes per second. The context streams the
//                           weights (Context::set_weight_streaming: backend/cpu/gemm/few_rows.hpp), as
//                           captioning's decoding steps do
//   BM_decode_linear_bf16/M/N/K    the same in bf16 precision (Context::set_matmul_precision): A's rows
//                           rounded to bf16 and multiplied by vdpbf16ps, on CPUs with AVX512-BF16
//   BM_decode_linear_packed/M/N/K  the same by the packed GEMM (the default): B packed on every call
//   BM_read                 the sum of a 1 GiB f32 array over the thread pool: the machine's practical read
//                           bandwidth in the same run, the ceiling of the above
// Copies of W are cycled through (at least 512 MB in all), so every iteration reads W from memory, not
// from a cache. Threads: INTERNVL_NUM_THREADS (default: every core).
#include <benchmark/benchmark.h>

#include <array>
#include <utility>
#include <vector>

#include "internvl/backend/cpu/linear.hpp"
#include "internvl/core/tensor.hpp"

using namespace internvl;

namespace {

// Copies of a bf16 W [N, K] (at least 512 MB in all) and y = x·Wᵀ on each copy in turn, the weights
// streamed or packed; reports W's bytes per second.
void decode_linear(benchmark::State& state, bool streamed, cpu::Precision precision = cpu::Precision::f32) {
  const index_t m = state.range(0), n = state.range(1), k = state.range(2);
  const std::size_t bytes = static_cast<std::size_t>(n * k) * sizeof(bf16);
  const std::size_t copies = (std::size_t{512} << 20) / bytes + 1;
  std::vector<Tensor<bf16, 2>> weights;
  for (std::size_t c = 0; c < copies; ++c) {
    weights.emplace_back(Extents<2>{n, k}, bf16(0.01f * static_cast<float>(c + 1)));
  }
  const Tensor<float, 2> x(Extents<2>{m, k}, 0.5f);
  Tensor<float, 2> y(Extents<2>{m, n});
  Context<backend::cpu> ctx;
  ctx.set_weight_streaming(streamed);
  ctx.set_matmul_precision(precision);
  std::size_t next = 0;
  for (auto _ : state) {
    ops::linear(ctx, y.view(), x.view(), weights[next].view());
    next = (next + 1) % copies;
    benchmark::ClobberMemory();
  }
  state.counters["weight_GB/s"] =
      benchmark::Counter(static_cast<double>(bytes) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// QLLaMA's weight shapes at 1, 5 and 8 rows.
void decode_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "N", "K"});
  for (const auto& [n, k] :
       {std::pair{4096, 4096}, std::pair{11008, 4096}, std::pair{4096, 11008}, std::pair{49954, 4096}}) {
    for (const int m : {1, 5, 8}) {
      b->Args({m, n, k});
    }
  }
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

}  // namespace

static void BM_decode_linear(benchmark::State& state) { decode_linear(state, true); }
BENCHMARK(BM_decode_linear)->Apply(decode_shapes);

static void BM_decode_linear_bf16(benchmark::State& state) { decode_linear(state, true, cpu::Precision::bf16); }
BENCHMARK(BM_decode_linear_bf16)->Apply(decode_shapes);

static void BM_decode_linear_packed(benchmark::State& state) { decode_linear(state, false); }
BENCHMARK(BM_decode_linear_packed)->Apply(decode_shapes);

static void BM_read(benchmark::State& state) {
  const index_t count = index_t{1} << 28;  // 1 GiB of f32
  const Tensor<float, 1> data(Extents<1>{count}, 1.0f);
  Context<backend::cpu> ctx;
  constexpr index_t kChunk = index_t{1} << 20;
  std::vector<float> partial(static_cast<std::size_t>(count / kChunk));
  for (auto _ : state) {
    ctx.pool().parallel_for(count / kChunk, 1, [&](index_t begin, index_t end) {
      for (index_t chunk = begin; chunk < end; ++chunk) {
        std::array<float, 16> lanes{};  // independent sums: the loop is not held up by adds
        const float* p = data.data() + chunk * kChunk;
        for (index_t i = 0; i < kChunk; i += 16) {
          for (index_t j = 0; j < 16; ++j) {
            lanes[static_cast<std::size_t>(j)] += p[i + j];
          }
        }
        float sum = 0.0f;
        for (const float lane : lanes) {
          sum += lane;
        }
        partial[static_cast<std::size_t>(chunk)] = sum;
      }
    });
    benchmark::DoNotOptimize(partial.data());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(count) * sizeof(float) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_read)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
