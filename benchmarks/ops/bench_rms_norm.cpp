// rms_norm at InternViT / QLLaMA shapes: bytes moved per second (read x, write y).
#include <benchmark/benchmark.h>

#include "internvl/backend/cpu/rms_norm.hpp"
#include "internvl/core/tensor.hpp"

using namespace internvl;

static void BM_rms_norm_cpu(benchmark::State& state) {
  const index_t rows = state.range(0), width = state.range(1);
  Tensor<float, 2> x(Extents<2>{rows, width}, 0.5f);
  Tensor<float, 2> y(Extents<2>{rows, width});
  Tensor<float, 1> w(Extents<1>{width}, 1.0f);
  Context<backend::cpu> ctx;
  for (auto _ : state) {
    ops::rms_norm(ctx, y.view(), x.view(), w.view(), 1e-6f);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(2 * rows * width * sizeof(float)) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_rms_norm_cpu)->Args({257, 3200})->Args({1025, 3200})->Args({1297, 3200})->Args({128, 4096})
    ->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
