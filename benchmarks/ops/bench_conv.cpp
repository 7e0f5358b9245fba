// Convolution, pooling and resampling at InternViT / UperNet shapes on the cpu backend, bf16 weights.
// Convolutions report GFLOP/s (2·pixels·C·kh·kw·O); each is paired with ops::linear on the GEMM it
// reduces to (same M, K, N, same weight dtype), so the ratio of the two is the cost of im2col and
// scatter. Pooling and resize report GB/s (f32 read once plus written once).
#include <benchmark/benchmark.h>

#include "internvl/backend/cpu/adaptive_avg_pool2d.hpp"
#include "internvl/backend/cpu/conv2d.hpp"
#include "internvl/backend/cpu/conv_transpose2d.hpp"
#include "internvl/backend/cpu/linear.hpp"
#include "internvl/backend/cpu/max_pool2d.hpp"
#include "internvl/backend/cpu/resize.hpp"
#include "internvl/core/tensor.hpp"

using namespace internvl;

namespace {

void set_gflops(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void set_gbps(benchmark::State& state, double bytes) {
  state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// Args: input channels, output channels, kernel, stride, padding, input height = width.
void BM_conv2d(benchmark::State& state) {
  const index_t c = state.range(0), o = state.range(1), k = state.range(2), stride = state.range(3);
  const index_t pad = state.range(4), side = state.range(5);
  const index_t out = ops::conv_output_size(side, k, stride, pad);
  Tensor<float, 4> x(Extents<4>{1, c, side, side}, 0.5f);
  Tensor<bf16, 4> w(Extents<4>{o, c, k, k}, bf16(0.01f));
  Tensor<float, 1> b(Extents<1>{o}, 0.1f);
  Tensor<float, 4> y(Extents<4>{1, o, out, out});
  Context<backend::cpu> ctx;
  for (auto _ : state) {
    ops::conv2d(ctx, y.view(), x.view(), w.view(), b.view(), {stride, stride}, {pad, pad});
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_gflops(state, 2.0 * static_cast<double>(out * out) * static_cast<double>(c * k * k) * static_cast<double>(o));
}

// The GEMM a conv2d reduces to: [out², C·k²] x [O, C·k²]ᵀ. Same args as BM_conv2d.
void BM_conv2d_as_linear(benchmark::State& state) {
  const index_t c = state.range(0), o = state.range(1), k = state.range(2), stride = state.range(3);
  const index_t pad = state.range(4), side = state.range(5);
  const index_t out = ops::conv_output_size(side, k, stride, pad);
  Tensor<float, 2> x(Extents<2>{out * out, c * k * k}, 0.5f);
  Tensor<bf16, 2> w(Extents<2>{o, c * k * k}, bf16(0.01f));
  Tensor<float, 1> b(Extents<1>{o}, 0.1f);
  Tensor<float, 2> y(Extents<2>{out * out, o});
  Context<backend::cpu> ctx;
  for (auto _ : state) {
    ops::linear(ctx, y.view(), x.view(), w.view(), b.view());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_gflops(state, 2.0 * static_cast<double>(out * out) * static_cast<double>(c * k * k) * static_cast<double>(o));
}

// What conv2d adds to its GEMM: gathering the patch rows and scattering the GEMM output into y, over
// all blocks. GB/s counts the patch matrix and y written once each.
void BM_conv2d_rearrange(benchmark::State& state) {
  const index_t c = state.range(0), o = state.range(1), k = state.range(2), stride = state.range(3);
  const index_t pad = state.range(4), side = state.range(5);
  const index_t out = ops::conv_output_size(side, k, stride, pad), rows = out * out, depth = c * k * k;
  Tensor<float, 4> x(Extents<4>{1, c, side, side}, 0.5f);
  Tensor<float, 4> y(Extents<4>{1, o, out, out});
  const index_t block = std::min(rows, cpu::pixel_rows_per_block(depth + o));
  Tensor<float, 2> patches(Extents<2>{block, depth});
  Tensor<float, 2> gemm_out(Extents<2>{block, o}, 1.0f);
  const cpu::ConvGeometry geometry{{out, out}, {k, k}, {stride, stride}, {pad, pad}};
  ThreadPool& pool = default_thread_pool();
  for (auto _ : state) {
    for (index_t q0 = 0; q0 < rows; q0 += block) {
      const index_t count = std::min(block, rows - q0);
      if (k == 1 && stride == 1 && pad == 0) {
        cpu::gather_pixels<float>(pool, patches.view().slice(0, 0, count), x.view(), q0);
      } else {
        cpu::gather_patches(pool, patches.view().slice(0, 0, count), x.view(), geometry, q0);
      }
      cpu::scatter_pixels(pool, y.view(), gemm_out.view().slice(0, 0, count), q0);
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_gbps(state, static_cast<double>((rows * depth + y.numel()) * sizeof(float)));
}

void conv_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"C", "O", "k", "s", "p", "px"});
  for (index_t px : {224, 448, 504}) {  // InternViT-6B patch embedding
    b->Args({3, 3200, 14, 14, 0, px});
  }
  for (index_t side : {18, 36, 72, 144}) {  // UperNet fpn_convs (3x3, 1536 -> 1536)
    b->Args({1536, 1536, 3, 1, 1, side});
  }
  b->Args({9344, 1536, 3, 1, 1, 18});  // UperNet bottleneck after pyramid pooling
  b->Args({3200, 1536, 1, 1, 0, 36});  // a lateral conv
  b->Args({1536, 150, 1, 1, 0, 144});  // conv_seg on the fused map
  b->Args({3200, 150, 1, 1, 0, 36});   // the linear head's conv_seg
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

// Args: channels in = out, input side. ConvTranspose2d(C, C, 2, 2), the UperNet neck's 2x.
void BM_conv_transpose2d(benchmark::State& state) {
  const index_t c = state.range(0), side = state.range(1);
  Tensor<float, 4> x(Extents<4>{1, c, side, side}, 0.5f);
  Tensor<bf16, 4> w(Extents<4>{c, c, 2, 2}, bf16(0.01f));
  Tensor<float, 1> b(Extents<1>{c}, 0.1f);
  Tensor<float, 4> y(Extents<4>{1, c, 2 * side, 2 * side});
  Context<backend::cpu> ctx;
  for (auto _ : state) {
    ops::conv_transpose2d(ctx, y.view(), x.view(), w.view(), b.view());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_gflops(state, 2.0 * static_cast<double>(side * side) * static_cast<double>(c) * static_cast<double>(4 * c));
}

// The GEMM a conv_transpose2d reduces to: [side², C] x [4·C, C]ᵀ.
void BM_conv_transpose2d_as_linear(benchmark::State& state) {
  const index_t c = state.range(0), side = state.range(1);
  Tensor<float, 2> x(Extents<2>{side * side, c}, 0.5f);
  Tensor<bf16, 2> w(Extents<2>{4 * c, c}, bf16(0.01f));
  Tensor<float, 1> b(Extents<1>{4 * c}, 0.1f);
  Tensor<float, 2> y(Extents<2>{side * side, 4 * c});
  Context<backend::cpu> ctx;
  for (auto _ : state) {
    ops::linear(ctx, y.view(), x.view(), w.view(), b.view());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_gflops(state, 2.0 * static_cast<double>(side * side) * static_cast<double>(c) * static_cast<double>(4 * c));
}

void conv_transpose_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"C", "px"})->Args({3200, 36})->Args({3200, 72})->Unit(benchmark::kMillisecond)->UseRealTime();
}

void BM_max_pool2d(benchmark::State& state) {
  const index_t c = state.range(0), side = state.range(1);
  Tensor<float, 4> x(Extents<4>{1, c, side, side}, 0.5f);
  Tensor<float, 4> y(Extents<4>{1, c, side / 2, side / 2});
  Context<backend::cpu> ctx;
  for (auto _ : state) {
    ops::max_pool2d(ctx, y.view(), x.view());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_gbps(state, static_cast<double>((x.numel() + y.numel()) * sizeof(float)));
}

void BM_adaptive_avg_pool2d(benchmark::State& state) {
  const index_t c = state.range(0), side = state.range(1), out = state.range(2);
  Tensor<float, 4> x(Extents<4>{1, c, side, side}, 0.5f);
  Tensor<float, 4> y(Extents<4>{1, c, out, out});
  Context<backend::cpu> ctx;
  for (auto _ : state) {
    ops::adaptive_avg_pool2d(ctx, y.view(), x.view());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_gbps(state, static_cast<double>((x.numel() + y.numel()) * sizeof(float)));
}

// Args: channels, input height, width, output height, width, mode (0 bilinear, 1 bicubic).
void BM_resize(benchmark::State& state) {
  const index_t c = state.range(0);
  Tensor<float, 4> x(Extents<4>{1, c, state.range(1), state.range(2)}, 0.5f);
  Tensor<float, 4> y(Extents<4>{1, c, state.range(3), state.range(4)});
  const auto mode = state.range(5) == 0 ? ops::ResizeMode::bilinear : ops::ResizeMode::bicubic;
  Context<backend::cpu> ctx;
  for (auto _ : state) {
    ops::resize(ctx, y.view(), x.view(), mode);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_gbps(state, static_cast<double>((x.numel() + y.numel()) * sizeof(float)));
}

}  // namespace

BENCHMARK(BM_conv2d)->Apply(conv_shapes);
BENCHMARK(BM_conv2d_as_linear)->Apply(conv_shapes);
BENCHMARK(BM_conv2d_rearrange)->Apply(conv_shapes);
BENCHMARK(BM_conv_transpose2d)->Apply(conv_transpose_shapes);
BENCHMARK(BM_conv_transpose2d_as_linear)->Apply(conv_transpose_shapes);
BENCHMARK(BM_max_pool2d)->ArgNames({"C", "px"})->Args({3200, 36})->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_adaptive_avg_pool2d)
    ->ArgNames({"C", "px", "out"})
    ->Args({3200, 18, 1})
    ->Args({3200, 18, 2})
    ->Args({3200, 18, 3})
    ->Args({3200, 18, 6})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_resize)
    ->ArgNames({"C", "H", "W", "Ho", "Wo", "cubic"})
    ->Args({3200, 16, 16, 36, 36, 1})    // position embeddings, 224px grid -> 504px
    ->Args({3200, 32, 32, 24, 40, 1})    // 448px grid -> 336x560
    ->Args({150, 36, 36, 504, 504, 0})   // segmentation logits to the 504 crop
    ->Args({1536, 36, 36, 144, 144, 0})  // UperNet top-down / fusion upsampling
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

BENCHMARK_MAIN();
