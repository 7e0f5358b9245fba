// attention at InternViT / QLLaMA / attention-pooling shapes: GFLOP/s, counting 4·B·H·Sq·Sk·Dh
// flops per call (two matrix products), for
//   cpu          the cpu backend as users get it (f32 precision; AVX-512 kernels where the CPU has them)
//   cpu_bf16     the same in bf16 precision (bf16 products where the CPU has AVX512-BF16)
//   portable     the cpu backend forced onto its xsimd kernels (the build's baseline ISA)
//   unfused      scores by an Eigen GEMM, a row softmax, an Eigen GEMM with V, heads over the same pool
//   fma_peak     the machine's f32 FMA throughput (independent FMA chains), the ceiling to compare with
// Args: {Sq, Sk, heads, head dim, threads}; batch 1. GFLOP/s is over wall time; GFLOP/s/core is
// over the process's CPU time (all threads), which stays meaningful on a machine shared with other
// jobs (the number to compare with the per-core peak). Self attention reads Q/K/V as strided views of
// one packed QKV projection [S, 3·H·Dh], cross attention reads Q [Sq, H·Dh] and K/V from [Sk, 2·H·Dh].
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cmath>
#include <ctime>
#include <vector>

#include "internvl/backend/cpu/attention.hpp"
#include "internvl/core/tensor.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

using namespace internvl;

namespace {

struct Inputs {
  Tensor<float, 2> q_buffer, kv_buffer;
  CView<float, 4> q, k, v;
  Tensor<float, 4> out;
};

void fill(Tensor<float, 2>& t, std::uint32_t seed) {
  for (index_t i = 0; i < t.numel(); ++i) {
    seed = seed * 1664525u + 1013904223u;
    t.data()[i] = static_cast<float>(seed >> 8) / static_cast<float>(1u << 24) - 0.5f;
  }
}

// A view of `heads` heads of `head_dim` starting at column `column` of a [S, width] buffer, as [1, S, H, Dh].
CView<float, 4> heads_of(const Tensor<float, 2>& buffer, index_t column, index_t heads, index_t head_dim) {
  const index_t width = buffer.size(1);
  return {buffer.data() + column, Extents<4>{1, buffer.size(0), heads, head_dim},
          Extents<4>{buffer.size(0) * width, width, head_dim, 1}};
}

Inputs make_inputs(index_t sq, index_t sk, index_t heads, index_t head_dim) {
  const index_t width = heads * head_dim;
  Inputs in;
  if (sq == sk) {
    in.kv_buffer = Tensor<float, 2>(Extents<2>{sk, 3 * width});
    fill(in.kv_buffer, 1);
    in.q = heads_of(in.kv_buffer, 0, heads, head_dim);
    in.k = heads_of(in.kv_buffer, width, heads, head_dim);
    in.v = heads_of(in.kv_buffer, 2 * width, heads, head_dim);
  } else {
    in.q_buffer = Tensor<float, 2>(Extents<2>{sq, width});
    in.kv_buffer = Tensor<float, 2>(Extents<2>{sk, 2 * width});
    fill(in.q_buffer, 1);
    fill(in.kv_buffer, 2);
    in.q = heads_of(in.q_buffer, 0, heads, head_dim);
    in.k = heads_of(in.kv_buffer, 0, heads, head_dim);
    in.v = heads_of(in.kv_buffer, width, heads, head_dim);
  }
  in.out = Tensor<float, 4>(Extents<4>{1, sq, heads, head_dim});
  return in;
}

double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Runs the timed loop of `state` over `call` and sets both rate counters.
template <class Call>
void measure(benchmark::State& state, double flops_per_call, Call call) {
  const double cpu_start = process_cpu_seconds();
  for (auto _ : state) {
    call();
    benchmark::ClobberMemory();
  }
  const double cpu_seconds = process_cpu_seconds() - cpu_start;
  const double flops = flops_per_call * static_cast<double>(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(flops_per_call * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s/core"] = flops * 1e-9 / cpu_seconds;
}

double attention_flops(const benchmark::State& state) {
  return 4.0 * static_cast<double>(state.range(0) * state.range(1) * state.range(2) * state.range(3));
}

template <class Run>
void bench_fused(benchmark::State& state, Run run) {
  Inputs in = make_inputs(state.range(0), state.range(1), state.range(2), state.range(3));
  ThreadPool pool(static_cast<int>(state.range(4)));
  Context<backend::cpu> ctx(pool);
  const ops::AttentionOptions options{.scale = 1.0f / std::sqrt(static_cast<float>(state.range(3)))};
  measure(state, attention_flops(state), [&] {
    run(ctx, in, options);
    benchmark::DoNotOptimize(in.out.data());
  });
}

void BM_attention_cpu(benchmark::State& state) {
  bench_fused(state, [](Context<backend::cpu>& ctx, Inputs& in, const ops::AttentionOptions& o) {
    ops::attention(ctx, in.out.view(), in.q, in.k, in.v, o);
  });
}

void BM_attention_cpu_bf16(benchmark::State& state) {
  bench_fused(state, [](Context<backend::cpu>& ctx, Inputs& in, const ops::AttentionOptions& o) {
    ctx.set_matmul_precision(cpu::Precision::bf16);
    ops::attention(ctx, in.out.view(), in.q, in.k, in.v, o);
  });
}

void BM_attention_portable(benchmark::State& state) {
  bench_fused(state, [](Context<backend::cpu>& ctx, Inputs& in, const ops::AttentionOptions& o) {
    cpu::attention::flash_attention<cpu::attention::PortableKernels>(ctx, in.out.view(), in.q, in.k, in.v, o);
  });
}

// The unfused baseline: per (b, h), S = scale · Q Kᵀ (Eigen), row softmax, O = P V (Eigen).
void BM_attention_unfused(benchmark::State& state) {
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Strided = Eigen::Map<const Matrix, 0, Eigen::OuterStride<>>;
  using StridedOut = Eigen::Map<Matrix, 0, Eigen::OuterStride<>>;
  const index_t sq = state.range(0), sk = state.range(1), heads = state.range(2), head_dim = state.range(3);
  Inputs in = make_inputs(sq, sk, heads, head_dim);
  ThreadPool pool(static_cast<int>(state.range(4)));
  std::vector<Matrix> scores(static_cast<std::size_t>(pool.size()), Matrix(sq, sk));
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  measure(state, attention_flops(state), [&] {
    pool.run(pool.size(), [&](index_t t) {
      Matrix& s = scores[static_cast<std::size_t>(t)];
      for (index_t h = t * heads / pool.size(); h < (t + 1) * heads / pool.size(); ++h) {
        const Strided q(&in.q(0, 0, h, 0), sq, head_dim, Eigen::OuterStride<>(in.q.stride(1)));
        const Strided k(&in.k(0, 0, h, 0), sk, head_dim, Eigen::OuterStride<>(in.k.stride(1)));
        const Strided v(&in.v(0, 0, h, 0), sk, head_dim, Eigen::OuterStride<>(in.v.stride(1)));
        StridedOut o(&in.out(0, 0, h, 0), sq, head_dim, Eigen::OuterStride<>(in.out.view().stride(1)));
        s.noalias() = scale * (q * k.transpose());
        for (index_t i = 0; i < sq; ++i) {
          auto row = s.row(i).array();
          row = (row - row.maxCoeff()).exp();
          row /= row.sum();
        }
        o.noalias() = s * v;
      }
    });
    benchmark::DoNotOptimize(in.out.data());
  });
}

#if defined(__x86_64__)
// Peak f32 FMA throughput: 12 independent chains per thread (enough to cover the FMA latency).
[[gnu::target("avx512f")]] void fma_chains_avx512(std::int64_t steps, float* sink) {
  __m512 acc[12];
  for (auto& a : acc) {
    a = _mm512_set1_ps(sink[0]);
  }
  const __m512 x = _mm512_set1_ps(sink[1]), y = _mm512_set1_ps(sink[2]);
  for (std::int64_t s = 0; s < steps; ++s) {
    for (auto& a : acc) {
      a = _mm512_fmadd_ps(a, x, y);
    }
  }
  for (const auto& a : acc) {
    _mm512_storeu_ps(sink + 16, _mm512_add_ps(_mm512_loadu_ps(sink + 16), a));
  }
}

void BM_fma_peak_avx512(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx512f")) {
    state.SkipWithError("no AVX-512F on this CPU");
    return;
  }
  ThreadPool pool(static_cast<int>(state.range(0)));
  constexpr std::int64_t kSteps = 1 << 20;
  std::vector<float> sinks(64 * static_cast<std::size_t>(pool.size()), 0.5f);
  measure(state, 2.0 * 16 * 12 * kSteps * static_cast<double>(pool.size()), [&] {
    pool.run(pool.size(), [&](index_t t) { fma_chains_avx512(kSteps, &sinks[64 * static_cast<std::size_t>(t)]); });
  });
}
#endif

// {Sq, Sk, heads, head dim, threads}
void shapes(benchmark::internal::Benchmark* b) {
  for (std::int64_t threads : {1, 2}) {
    b->Args({257, 257, 25, 128, threads});    // InternViT-6B at 224 px
    b->Args({1025, 1025, 16, 64, threads});   // InternViT-300M at 448 px
    b->Args({1025, 1025, 25, 128, threads});  // InternViT-6B at 448 px
    b->Args({1297, 1297, 25, 128, threads});  // InternViT-6B segmentation at 504 px
    b->Args({96, 257, 32, 128, threads});     // QLLaMA cross attention
    b->Args({1, 1025, 16, 256, threads});     // attention pooling over width 4096
  }
}

}  // namespace

BENCHMARK(BM_attention_cpu)->Apply(shapes)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_attention_cpu_bf16)->Apply(shapes)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_attention_portable)->Apply(shapes)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_attention_unfused)->Apply(shapes)->UseRealTime()->Unit(benchmark::kMillisecond);
#if defined(__x86_64__)
BENCHMARK(BM_fma_peak_avx512)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
#endif

BENCHMARK_MAIN();
