// ops::attention on CUDA (the fused tensor-core kernel, bf16) at InternViT's sequence lengths
// N = 257, 1025, 1297 (224 px, 448 px, 448 px + tiles) and head dims 128 (InternViT-6B, 25 heads) and
// 64 (InternViT-300M, 16 heads), non-causal, Q/K/V read from one packed QKV buffer; the batch makes
// B·H·⌈N/64⌉ blocks several waves over the GPU. Counter TFLOPS = 4·B·H·N²·Dh / median time per call.
// benchmarks/cuda/torch_reference.py times F.scaled_dot_product_attention (flash) on the same shapes.
#include <cmath>

#include "gpu_timing.cuh"

using namespace internvl;
namespace gpu = internvl::cuda;

namespace {

void BM_attention(benchmark::State& state) {
  const index_t batch = state.range(0), tokens = state.range(1), heads = state.range(2), head_dim = state.range(3);
  static Context<backend::cuda> ctx;
  const index_t width = heads * head_dim;
  gpu::DeviceTensor<bf16, 2> qkv(Extents<2>{batch * tokens, 3 * width});  // [q heads | k heads | v heads] per token
  gpu::DeviceTensor<bf16, 4> out(Extents<4>{batch, tokens, heads, head_dim});
  bench::fill_uniform(ctx, qkv.view(), 7u, -2.0f, 2.0f);
  ctx.synchronize();
  const Extents<4> shape{batch, tokens, heads, head_dim};
  const Extents<4> strides{tokens * 3 * width, 3 * width, head_dim, 1};
  const CView<bf16, 4> q(qkv.data(), shape, strides);
  const CView<bf16, 4> k(qkv.data() + width, shape, strides);
  const CView<bf16, 4> v(qkv.data() + 2 * width, shape, strides);
  const ops::AttentionOptions options{.scale = 1.0f / std::sqrt(static_cast<float>(head_dim))};

  const double seconds =
      bench::time_calls(state, ctx, [&](index_t) { ops::attention(ctx, out.view(), q, k, v, options); });
  state.counters["TFLOPS"] = 4.0 * static_cast<double>(batch * heads) * static_cast<double>(tokens) *
                             static_cast<double>(tokens) * static_cast<double>(head_dim) / seconds / 1e12;
}

}  // namespace

BENCHMARK(BM_attention)
    ->ArgNames({"B", "N", "H", "Dh"})
    ->Args({32, 257, 25, 128})
    ->Args({8, 1025, 25, 128})
    ->Args({8, 1297, 25, 128})
    ->Args({32, 257, 16, 64})
    ->Args({8, 1025, 16, 64})
    ->Args({8, 1297, 16, 64})
    ->UseManualTime()
    ->Iterations(15)
    ->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
