// ops::linear on CUDA (cuBLASLt, bf16 in and out, f32 accumulation) at InternViT-6B's projection shapes:
// M = 257·B tokens for B = 1, 8, 32 and (K, N) = (3200, 9600) qkv, (3200, 3200) attention projection,
// (3200, 12800) fc1, (12800, 3200) fc2; each plain (epilogue:0) and with the layer's epilogue
// (epilogue:1: bias for proj and fc2, bias + exact GELU for fc1, none for qkv); plus the 8192³ product
// as the machine's ceiling. Counter TFLOPS = 2·M·N·K / median time per call (CUDA events).
// benchmarks/cuda/torch_reference.py times the same products in PyTorch.
#include <algorithm>
#include <vector>

#include "gpu_timing.cuh"

using namespace internvl;
namespace gpu = internvl::cuda;

namespace {

Context<backend::cuda>& shared_context() {
  static Context<backend::cuda> ctx;
  return ctx;
}

void BM_linear(benchmark::State& state) {
  const index_t m = state.range(0), k = state.range(1), n = state.range(2);
  const bool epilogue = state.range(3) != 0;
  const bool is_qkv = n == 3 * k;
  const auto act = epilogue && n == 4 * k ? ops::Activation::gelu : ops::Activation::none;
  const bool has_bias = epilogue && !is_qkv;
  Context<backend::cuda>& ctx = shared_context();

  // Enough independent input sets that one pass over them does not fit in L2.
  const double set_bytes = 2.0 * static_cast<double>(m * k + n * k + m * n);
  const auto sets = static_cast<index_t>(
      std::clamp(2.0 * ctx.properties().l2CacheSize / set_bytes + 1.0, 1.0, 8.0));
  std::vector<gpu::DeviceTensor<bf16, 2>> xs, ws, ys;
  for (index_t s = 0; s < sets; ++s) {
    xs.emplace_back(Extents<2>{m, k});
    ws.emplace_back(Extents<2>{n, k});
    ys.emplace_back(Extents<2>{m, n});
    bench::fill_uniform(ctx, xs.back().view(), static_cast<std::uint32_t>(3 * s + 1));
    bench::fill_uniform(ctx, ws.back().view(), static_cast<std::uint32_t>(3 * s + 2), -0.02f, 0.02f);
  }
  gpu::DeviceTensor<float, 1> bias(Extents<1>{n});
  bench::fill_uniform(ctx, bias.view(), 99u);
  ctx.synchronize();

  const double seconds = bench::time_calls(state, ctx, [&](index_t call) {
    const auto s = static_cast<std::size_t>(call % sets);
    ops::linear(ctx, ys[s].view(), xs[s].view(), ws[s].view(), has_bias ? bias.view() : CView<float, 1>{}, act);
  });
  state.counters["TFLOPS"] = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) / seconds / 1e12;
  state.counters["input_sets"] = static_cast<double>(sets);
}

void internvit_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "K", "N", "epilogue"});
  for (const index_t batch : {1, 8, 32}) {
    for (const auto& [k, n] : {std::pair<index_t, index_t>{3200, 9600}, {3200, 3200}, {3200, 12800}, {12800, 3200}}) {
      for (const int epilogue : {0, 1}) {
        if (epilogue == 1 && n == 3 * k) {
          continue;  // qkv has no bias in InternViT-6B
        }
        b->Args({257 * batch, k, n, epilogue});
      }
    }
  }
  b->Args({8192, 8192, 8192, 0});  // the ceiling
}

}  // namespace

BENCHMARK(BM_linear)->Apply(internvit_shapes)->UseManualTime()->Iterations(15)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
