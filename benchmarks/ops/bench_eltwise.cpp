// The element-wise, normalisation, reduction and gather ops of the cpu backend at InternViT / QLLaMA /
// head shapes: bytes moved per second (each input read once, each output written once). BM_copy
// (std::copy of a row-major [M, N] f32 array, read + write) gives the machine's practical memory
// bandwidth in the same run, as the ceiling these memory-bound kernels are compared against.
#include <benchmark/benchmark.h>

#include <algorithm>

#include "internvl/backend/cpu/add.hpp"
#include "internvl/backend/cpu/batch_norm.hpp"
#include "internvl/backend/cpu/embedding.hpp"
#include "internvl/backend/cpu/gelu.hpp"
#include "internvl/backend/cpu/layer_norm.hpp"
#include "internvl/backend/cpu/layer_norm_channels.hpp"
#include "internvl/backend/cpu/mean_tokens.hpp"
#include "internvl/backend/cpu/rotary_embedding.hpp"
#include "internvl/backend/cpu/scaled_residual_add.hpp"
#include "internvl/backend/cpu/silu.hpp"
#include "internvl/backend/cpu/softmax.hpp"
#include "internvl/backend/cpu/swiglu.hpp"
#include "internvl/core/tensor.hpp"

using namespace internvl;

namespace {

// Runs op in the timed loop and reports `floats` f32 values moved per iteration as GB/s.
template <class Op>
void measure(benchmark::State& state, index_t floats, Op&& op) {
  for (auto _ : state) {
    op();
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(floats) * sizeof(float) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

Tensor<float, 2> filled(index_t rows, index_t cols, float value) { return Tensor<float, 2>(Extents<2>{rows, cols}, value); }
Tensor<float, 1> filled(index_t n, float value) { return Tensor<float, 1>(Extents<1>{n}, value); }

// Inputs with a spread of values (a constant row would make some kernels trivially cheap).
Tensor<float, 2> ramp(index_t rows, index_t cols) {
  Tensor<float, 2> t(Extents<2>{rows, cols});
  for (index_t i = 0; i < t.numel(); ++i) {
    t.data()[i] = static_cast<float>(i % 1021) * 0.01f - 5.0f;
  }
  return t;
}

Extents<4> map_shape(const benchmark::State& state) {
  return {state.range(0), state.range(1), state.range(2), state.range(3)};
}

}  // namespace

static void BM_copy(benchmark::State& state) {
  const index_t rows = state.range(0), cols = state.range(1);
  const auto x = ramp(rows, cols);
  auto y = filled(rows, cols, 0.0f);
  measure(state, 2 * rows * cols, [&] { std::copy_n(x.data(), x.numel(), y.data()); });
}

static void BM_layer_norm(benchmark::State& state) {
  const index_t rows = state.range(0), cols = state.range(1);
  const auto x = ramp(rows, cols);
  auto y = filled(rows, cols, 0.0f);
  const auto w = filled(cols, 1.0f);
  const auto b = filled(cols, 0.0f);
  Context<backend::cpu> ctx;
  measure(state, 2 * rows * cols, [&] { ops::layer_norm(ctx, y.view(), x.view(), w.view(), b.view(), 1e-6f); });
}

static void BM_softmax(benchmark::State& state) {
  const index_t rows = state.range(0), cols = state.range(1);
  const auto x = ramp(rows, cols);
  auto y = filled(rows, cols, 0.0f);
  Context<backend::cpu> ctx;
  measure(state, 2 * rows * cols, [&] { ops::softmax(ctx, y.view(), x.view()); });
}

static void BM_gelu(benchmark::State& state) {
  const index_t rows = state.range(0), cols = state.range(1);
  const auto x = ramp(rows, cols);
  auto y = filled(rows, cols, 0.0f);
  Context<backend::cpu> ctx;
  measure(state, 2 * rows * cols, [&] { ops::gelu(ctx, y.view(), x.view()); });
}

static void BM_silu(benchmark::State& state) {
  const index_t rows = state.range(0), cols = state.range(1);
  const auto x = ramp(rows, cols);
  auto y = filled(rows, cols, 0.0f);
  Context<backend::cpu> ctx;
  measure(state, 2 * rows * cols, [&] { ops::silu(ctx, y.view(), x.view()); });
}

static void BM_swiglu(benchmark::State& state) {
  const index_t rows = state.range(0), cols = state.range(1);
  const auto gate = ramp(rows, cols);
  const auto up = ramp(rows, cols);
  auto out = filled(rows, cols, 0.0f);
  Context<backend::cpu> ctx;
  measure(state, 3 * rows * cols, [&] { ops::swiglu(ctx, out.view(), gate.view(), up.view()); });
}

static void BM_add(benchmark::State& state) {
  const index_t rows = state.range(0), cols = state.range(1);
  const auto a = ramp(rows, cols);
  const auto b = ramp(rows, cols);
  auto y = filled(rows, cols, 0.0f);
  Context<backend::cpu> ctx;
  measure(state, 3 * rows * cols, [&] { ops::add(ctx, y.view(), a.view(), b.view()); });
}

static void BM_scaled_residual_add(benchmark::State& state) {
  const index_t rows = state.range(0), cols = state.range(1);
  auto x = ramp(rows, cols);
  const auto y = ramp(rows, cols);
  const auto gamma = filled(cols, 1e-7f);  // keeps x bounded over many iterations
  Context<backend::cpu> ctx;
  measure(state, 3 * rows * cols, [&] { ops::scaled_residual_add(ctx, x.view(), y.view(), gamma.view()); });
}

static void BM_mean_tokens(benchmark::State& state) {
  const index_t tokens = state.range(0), cols = state.range(1);
  const auto x = ramp(tokens, cols);
  auto out = filled(1, cols, 0.0f);  // reads tokens 1..S (S − 1 rows), writes one row
  const CView<float, 3> x3 = x.view().reshape(Extents<3>{1, tokens, cols});
  Context<backend::cpu> ctx;
  measure(state, tokens * cols, [&] { ops::mean_tokens(ctx, out.view(), x3, 1, tokens); });
}

static void BM_batch_norm_rows(benchmark::State& state) {
  const index_t rows = state.range(0), cols = state.range(1);
  const auto x = ramp(rows, cols);
  auto y = filled(rows, cols, 0.0f);
  const auto mean = filled(cols, 0.5f);
  const auto var = filled(cols, 2.0f);
  const auto w = filled(cols, 1.0f);
  const auto b = filled(cols, 0.0f);
  Context<backend::cpu> ctx;
  measure(state, 2 * rows * cols, [&] {
    ops::batch_norm(ctx, y.view(), x.view(), mean.view(), var.view(), w.view(), b.view(), 1e-6f);
  });
}

static void BM_batch_norm_map(benchmark::State& state) {
  const Extents<4> shape = map_shape(state);
  const auto flat = ramp(shape[0] * shape[1], shape[2] * shape[3]);
  auto y = filled(shape[0] * shape[1], shape[2] * shape[3], 0.0f);
  const auto mean = filled(shape[1], 0.5f);
  const auto var = filled(shape[1], 2.0f);
  const auto w = filled(shape[1], 1.0f);
  const auto b = filled(shape[1], 0.0f);
  Context<backend::cpu> ctx;
  measure(state, 2 * flat.numel(), [&] {
    ops::batch_norm(ctx, y.view().reshape(shape), flat.view().reshape(shape), mean.view(), var.view(), w.view(),
                    b.view(), 1e-5f);
  });
}

static void BM_layer_norm_channels(benchmark::State& state) {
  const Extents<4> shape = map_shape(state);
  const auto flat = ramp(shape[0] * shape[1], shape[2] * shape[3]);
  auto y = filled(shape[0] * shape[1], shape[2] * shape[3], 0.0f);
  const auto w = filled(shape[1], 1.0f);
  const auto b = filled(shape[1], 0.0f);
  Context<backend::cpu> ctx;
  measure(state, 2 * flat.numel(), [&] {
    ops::layer_norm_channels(ctx, y.view().reshape(shape), flat.view().reshape(shape), w.view(), b.view(), 1e-6f);
  });
}

// Token rows × hidden width: InternViT-6B at 224 / 448 / 504 px.
static void token_shapes(benchmark::internal::Benchmark* b) { b->Args({257, 3200})->Args({1025, 3200})->Args({1297, 3200}); }

// QLLaMA's RoPE on q [B, T, 32, 128] in place (read + write; the cos/sin table is part of the time).
static void BM_rotary_embedding(benchmark::State& state) {
  const index_t batch = state.range(0), tokens = state.range(1), heads = 32, head_dim = 128;
  auto x = ramp(batch * tokens, heads * head_dim);
  const View<float, 4> q(x.data(), Extents<4>{batch, tokens, heads, head_dim});
  Context<backend::cpu> ctx;
  measure(state, 2 * x.numel(), [&] { ops::rotary_embedding(ctx, q, CView<float, 4>(q), {}); });
}

// QLLaMA's token embeddings: N rows of a bf16 [49954, 4096] table widened to f32 (2 + 4 bytes per value).
static void BM_embedding(benchmark::State& state) {
  const index_t tokens = state.range(0), vocab = 49954, width = 4096;
  Tensor<bf16, 2> table(Extents<2>{vocab, width}, bf16(0.5f));
  Tensor<std::int32_t, 1> ids(Extents<1>{tokens});
  for (index_t n = 0; n < tokens; ++n) {
    ids(n) = static_cast<std::int32_t>((n * 7919) % vocab);
  }
  auto out = filled(tokens, width, 0.0f);
  Context<backend::cpu> ctx;
  const WeightView<2> rows = CView<bf16, 2>(table.view());
  measure(state, tokens * width * 3 / 2, [&] { ops::embedding(ctx, out.view(), ids.view(), rows); });
}

BENCHMARK(BM_copy)->Apply(token_shapes)->Args({257, 12800})->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_layer_norm)->Apply(token_shapes)->Args({1025, 1024})->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_softmax)->Apply(token_shapes)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_add)->Apply(token_shapes)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_scaled_residual_add)->Apply(token_shapes)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_mean_tokens)->Apply(token_shapes)->UseRealTime()->Unit(benchmark::kMicrosecond);
// The MLP hidden layer: 6B's fc1 output (12800) for gelu; QLLaMA's gate/up (11008) for silu/swiglu.
BENCHMARK(BM_gelu)->Args({257, 12800})->Args({1025, 12800})->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_silu)->Args({257, 11008})->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_swiglu)->Args({96, 11008})->Args({257, 11008})->UseRealTime()->Unit(benchmark::kMicrosecond);
// Heads: the linear probe's BatchNorm over [batch, 6400] features; the segmentation maps.
BENCHMARK(BM_rotary_embedding)->Args({1, 96})->Args({8, 96})->Args({32, 80})->UseRealTime()->Unit(
    benchmark::kMicrosecond);
BENCHMARK(BM_embedding)->Args({80})->Args({2560})->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_batch_norm_rows)->Args({64, 6400})->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_batch_norm_map)->Args({1, 3200, 36, 36})->Args({2, 1536, 18, 18})->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_layer_norm_channels)->Args({1, 3200, 36, 36})->Args({1, 3200, 72, 72})->UseRealTime()->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
