// The ADE20K UperNet head of InternViT-6B on CUDA (width 3200, 1536 channels, 150 classes, pool scales 1, 2,
// 3, 6) for one 504-pixel window: a 36×36 patch grid in, logits at 144×144 out, the four levels' laterals
// then the decoder (heads/upernet.hpp), on random weights and features. Three precisions:
//   precision:0  bf16 activations and kernels (f32 accumulation)
//   precision:1  f32, exact products: the heads' f32 (heads/head_features.hpp) on a default context
//   precision:2  f32 with TF32 products (cuda::F32Products::tf32): what segment --backend cuda runs
// Counter TFLOPS = 2 × the head's multiply-adds (about 5.7 T) / median time per window. For scale, the
// backbone costs about 16 TFLOP per window (bench_intern_vit). The head's share of segment's time is the
// question these answer: what f32 costs, and what TF32 gives back.
#include <array>
#include <cmath>
#include <vector>

#include "gpu_timing.cuh"
#include "internvl/heads/token_grid.hpp"
#include "internvl/heads/upernet.hpp"

using namespace internvl;
namespace gpu = internvl::cuda;

namespace {

constexpr index_t kWidth = 3200, kChannels = 1536, kClasses = 150, kGrid = 36;
constexpr std::array<index_t, 4> kPoolScales{1, 2, 3, 6};

// Multiply-adds of one window, level by level (pyramid_size: 4×, 2×, 1×, ½× the grid).
double upernet_macs() {
  const double w = kWidth, c = kChannels, k = kClasses, g = kGrid;
  const double p1 = 16 * g * g, p2 = 4 * g * g, p3 = g * g, p4 = g * g / 4;
  double macs = (p1 / 4 + p1 + p2) * w * w;  // up1's two transposed convolutions, up2's
  macs += (p1 + p2 + p3) * w * c;            // the 1×1 laterals
  for (const index_t s : kPoolScales) {
    macs += static_cast<double>(s * s) * w * c;  // the PPM's 1×1 convolutions
  }
  macs += p4 * 9 * (w + 4 * c) * c;    // the PPM bottleneck
  macs += (p1 + p2 + p3) * 9 * c * c;  // the FPN convolutions
  macs += p1 * 9 * 4 * c * c;          // the FPN bottleneck
  macs += p1 * c * k;                  // conv_seg
  return macs;
}

// Random device weights of the head in T (kernels) and f32 (vectors), and the views the head reads.
template <class T>
struct RandomUperNet {
  std::vector<gpu::DeviceTensor<T, 4>> kernels;
  std::vector<gpu::DeviceTensor<float, 1>> vectors;
  heads::UperNetWeights weights;
  std::uint32_t seed = 1;

  explicit RandomUperNet(Context<backend::cuda>& ctx) {
    heads::UperNetWeights& w = weights;
    w.up1_first = kernel(ctx, kWidth, kWidth, 2);
    w.up1_second = kernel(ctx, kWidth, kWidth, 2);
    w.up2 = kernel(ctx, kWidth, kWidth, 2);
    w.up1_first_bias = vector(ctx, kWidth, -0.1f, 0.1f);
    w.up1_second_bias = vector(ctx, kWidth, -0.1f, 0.1f);
    w.up2_bias = vector(ctx, kWidth, -0.1f, 0.1f);
    w.up1_norm_weight = vector(ctx, kWidth, 0.5f, 1.5f);
    w.up1_norm_bias = vector(ctx, kWidth, -0.1f, 0.1f);
    w.pool_scales.assign(kPoolScales.begin(), kPoolScales.end());
    for (std::size_t i = 0; i < kPoolScales.size(); ++i) {
      w.psp.push_back(module(ctx, kWidth, 1));
    }
    w.bottleneck = module(ctx, kWidth + static_cast<index_t>(kPoolScales.size()) * kChannels, 3);
    for (int i = 0; i < 3; ++i) {
      w.lateral[i] = module(ctx, kWidth, 1);
      w.fpn[i] = module(ctx, kChannels, 3);
    }
    w.fpn_bottleneck = module(ctx, 4 * kChannels, 3);
    w.conv_seg = kernel(ctx, kClasses, kChannels, 1);
    w.conv_seg_bias = vector(ctx, kClasses, -0.1f, 0.1f);
  }

  CView<T, 4> kernel(Context<backend::cuda>& ctx, index_t out, index_t in, index_t size) {
    kernels.emplace_back(Extents<4>{out, in, size, size});
    const float range = 1.0f / std::sqrt(static_cast<float>(in * size * size));
    bench::fill_uniform(ctx, kernels.back().view(), seed++, -range, range);
    return kernels.back().view();
  }
  CView<float, 1> vector(Context<backend::cuda>& ctx, index_t n, float lo, float hi) {
    vectors.emplace_back(Extents<1>{n});
    bench::fill_uniform(ctx, vectors.back().view(), seed++, lo, hi);
    return vectors.back().view();
  }
  heads::ConvModuleWeights module(Context<backend::cuda>& ctx, index_t in, index_t size) {
    return {.conv = kernel(ctx, kChannels, in, size),
            .bn = {.running_mean = vector(ctx, kChannels, -0.1f, 0.1f),
                   .running_var = vector(ctx, kChannels, 0.5f, 1.5f),
                   .weight = vector(ctx, kChannels, 0.5f, 1.5f),
                   .bias = vector(ctx, kChannels, -0.1f, 0.1f),
                   .eps = 1e-5f}};
  }
};

template <class T>
void run_upernet(benchmark::State& state, gpu::F32Products products) {
  Context<backend::cuda> ctx;
  ctx.set_f32_products(products);
  const RandomUperNet<T> head(ctx);
  std::array<gpu::DeviceTensor<T, 3>, 4> tokens{};  // the four blocks' hidden states [1, 1 + G², D]
  for (std::size_t level = 0; level < tokens.size(); ++level) {
    tokens[level] = gpu::DeviceTensor<T, 3>(Extents<3>{1, 1 + kGrid * kGrid, kWidth});
    bench::fill_uniform(ctx, tokens[level].view(), static_cast<std::uint32_t>(100 + level), -2.0f, 2.0f);
  }
  gpu::DeviceTensor<T, 4> logits(Extents<4>{1, kClasses, 4 * kGrid, 4 * kGrid});
  ctx.synchronize();
  const double seconds = bench::time_calls(state, ctx, [&](index_t) {
    auto scope = ctx.workspace().scope();
    auto laterals = heads::allocate_laterals<backend::cuda, T>(ctx, head.weights, 1, kGrid, kGrid);
    for (int level = 0; level < 4; ++level) {
      heads::upernet_lateral(
          ctx, head.weights, level, laterals,
          heads::token_grid(CView<T, 3>(tokens[static_cast<std::size_t>(level)].view()), kGrid, kGrid));
    }
    heads::upernet_decode(ctx, head.weights, laterals, logits.view());
  });
  state.counters["TFLOPS"] = 2.0 * upernet_macs() / seconds / 1e12;
  state.counters["ms_per_window"] = seconds * 1e3;
}

void BM_upernet_window(benchmark::State& state) {
  switch (state.range(0)) {
    case 0:
      run_upernet<bf16>(state, gpu::F32Products::exact);
      break;
    case 1:
      run_upernet<float>(state, gpu::F32Products::exact);
      break;
    default:
      run_upernet<float>(state, gpu::F32Products::tf32);
  }
}

}  // namespace

BENCHMARK(BM_upernet_window)
    ->ArgName("precision")
    ->DenseRange(0, 2)
    ->UseManualTime()
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
