// ops::attention on CUDA (the fused tensor-core kernel, bf16) at InternViT's sequence lengths
// N = 257, 1025, 1297 (224 px, 448 px, 448 px + tiles) and head dims 128 (InternViT-6B, 25 heads) and
// 64 (InternViT-300M, 16 heads), non-causal, Q/K/V read from one packed QKV buffer; the batch makes
// B·H·⌈N/64⌉ blocks several waves over the GPU. Counter TFLOPS = 4·B·H·N²·Dh / median time per call.
// BM_attention is ops::attention (the configuration it picks); BM_flash_attention<Dh,warps,row
// tiles,key tile> times each configuration of the fused kernel (cuda::flash_attention<Cfg>) at the
// shapes of its head dim, which is what attention.cuh's choice between them rests on.
// benchmarks/cuda/torch_reference.py times F.scaled_dot_product_attention (flash) on the same shapes.
#include <cmath>
#include <string>

#include "gpu_timing.cuh"

using namespace internvl;
namespace gpu = internvl::cuda;

namespace {

struct Shape {
  index_t batch, tokens, heads, head_dim;
};

constexpr Shape kShapes[] = {{32, 257, 25, 128}, {8, 1025, 25, 128}, {8, 1297, 25, 128},
                             {32, 257, 16, 64},  {8, 1025, 16, 64},  {8, 1297, 16, 64}};

// Times run(ctx, out, q, k, v, options) at the shape given by the benchmark's arguments.
template <class Run>
void time_attention(benchmark::State& state, Run run) {
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

  const double seconds = bench::time_calls(state, ctx, [&](index_t) { run(ctx, out.view(), q, k, v, options); });
  state.counters["TFLOPS"] = 4.0 * static_cast<double>(batch * heads) * static_cast<double>(tokens) *
                             static_cast<double>(tokens) * static_cast<double>(head_dim) / seconds / 1e12;
}

void configure(benchmark::internal::Benchmark* b, index_t head_dim) {
  b->ArgNames({"B", "N", "H", "Dh"});
  for (const Shape& s : kShapes) {
    if (head_dim == 0 || s.head_dim == head_dim) {
      b->Args({s.batch, s.tokens, s.heads, s.head_dim});
    }
  }
  b->UseManualTime()->Iterations(15)->Unit(benchmark::kMicrosecond);
}

void BM_attention(benchmark::State& state) {
  time_attention(state, [](auto&&... args) { ops::attention(args...); });
}

template <class Cfg>
bool register_configuration() {
  const std::string name = "BM_flash_attention<" + std::to_string(Cfg::kHeadDim) + "," + std::to_string(Cfg::kWarps) +
                           "," + std::to_string(Cfg::kRowTiles) + "," + std::to_string(Cfg::kBlockK) + ">";
  configure(benchmark::RegisterBenchmark(name.c_str(), [](benchmark::State& state) {
              time_attention(state, [](auto&&... args) { gpu::flash_attention<Cfg>(args...); });
            }),
            Cfg::kHeadDim);
  return true;
}

const bool registered = [] {
  configure(benchmark::RegisterBenchmark("BM_attention", BM_attention), 0);
  return []<class... Cfgs>(gpu::FlashAttentionList<Cfgs...>) {
    return (register_configuration<Cfgs>() && ...);
  }(gpu::MeasuredFlashAttentions{});
}();

}  // namespace

BENCHMARK_MAIN();
