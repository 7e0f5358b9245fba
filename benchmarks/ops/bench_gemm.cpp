// GEMM at InternViT shapes, ours and Eigen's side by side, and the machine's ceilings:
//   BM_gemm_ours_{f32,bf16}  C = A·Bᵀ with the cpu backend's packed GEMM in f32, B stored as f32 or bf16
//   BM_gemm_ours_bf16c       the same with bf16 operands (Precision::bf16: vdpbf16ps where the CPU has it)
//   BM_gemm_ours_bf16c_prepacked  the same with B packed once, before the timed loop, as a model's weights
//                            are under Context<backend::cpu>::set_weight_prepacking (prepack.hpp)
//   BM_gemm_ours_f32_prepacked    BM_gemm_ours_f32 with B packed once: what packing B per call costs
//   BM_f32_tile_traffic      the f32 path's micro-tile kernel (1 thread) in the GEMM's tile order over one
//                            K block of 384: for each of `a_panels` A panels, the 5 B panels of an N
//                            block (from L2), each tile accumulating into its own place of a C block
//                            whose rows are 240 floats apart (c_stride:0, 960 bytes) or 4096 (c_stride:1,
//                            a page apart, as C's rows are at N = 4096). Against BM_microkernel/avx512
//                            (one A panel, one L1 C tile): what A panels from L2 (a_panels:33, as at
//                            M = 257) and C rows a page apart cost the kernel
//   BM_gemm_f32_tiles        the f32 GEMM's tile loops alone (macro_kernel.hpp's multiply, the threads'
//                            blocks as in the GEMM), A and B packed before the timed loop: between
//                            BM_microkernel (the kernel on one L1 C tile) and BM_gemm_ours_f32_prepacked
//                            (with A's packing), what the loops' own traffic costs (C rows, A panels)
//   BM_gemm_f32_tiles_huge_c BM_gemm_f32_tiles with C in transparent huge pages (huge_MB: how much of it
//                            the OS backed so): whether C's rows, each on its own 4 KB page at these N,
//                            cost the loops TLB misses
//   BM_gemm_f32_scaling      BM_gemm_ours_f32 on 1, 2, 4, ... threads, one per core and every CPU, at the
//                            narrowest InternViT outputs: how well the threads' grid of C blocks balances
//                            them, and what SMT siblings add
//   BM_gemm_eigen            the same product with Eigen (f32 B; Eigen has no bf16 GEMM), OpenMP threads,
//                            Eigen built for this machine's best vector ISA (eigen_gemm.hpp; the label names it)
//   BM_gemm_eigen_baseline   the same with Eigen built for the project's x86-64-v3 baseline (AVX2 + FMA)
//   BM_fma_peak              independent f32 FMAs in registers on every thread: the f32 ceiling
//   BM_dpbf16_peak           independent vdpbf16ps in registers on every thread: the bf16 ceiling
//                            (2 flops per bf16 product, 4 per lane and instruction; skipped without AVX512-BF16)
//   BM_amx_peak              TDPBF16PS into four independent accumulator tiles on every thread: the AMX
//                            ceiling (16·16·32 products per instruction; skipped without the amx path)
//   BM_amx_probe/WHAT        one thread, the amx kernel's step of 32 k on operands in L1, taken apart
//                            (against BM_amx_peak): `loads` its four TILELOADDs alone (GB/s of tile
//                            data); `products_beside_loads` four TDPBF16PS that read only A(0) and B(0),
//                            beside loads into A(1) and B(1) that no product reads (loads and products
//                            without dependences); `products_after_loads` the step itself,
//                            loads then the products that read them (loads_first). Beside at the peak
//                            and after far below it: the waits between loads and products are the loss;
//                            loads alone far under L1's two 64-byte lines a cycle: TILELOADD itself is.
//                            `double_buffered`: the steps of a 16 × 32 block whose loads go to registers
//                            the running products do not read (two accumulators): whether such a kernel
//                            would recover what the waits cost.
//   BM_microkernel/PATH      one path's micro-tile kernel alone, 1 thread, on panels packed beforehand
//                            (kc deep, from the arguments; accumulating into an L1-resident C tile):
//                            b_block:0 reuses one B panel, b_block:1 cycles through the panels of a B
//                            block of nc columns (from L2, as in the GEMM's inner loop). Against the
//                            ceilings above it separates the kernel's own rate from what the driver and
//                            packing cost; over kc it shows where the A panel and a B panel stop fitting
//                            L1 together (amx at kc 512: 32 KB + 32 KB, more than a 48 KB L1D).
//                            The amx path's kernel is built in each of its tile schedules (amx_loads_first,
//                            amx_interleaved, amx_pipelined; kernel_amx.hpp's TileSchedule).
//   BM_gemm_amx_schedule/S   the amx GEMM with schedule S's kernel, B packed once, at the shapes below
//   BM_gemm_amx_epilogue/E   the amx GEMM, B packed once, with a bias (E = bias) or a bias and GELU
//                            (bias_gelu), at the shapes below: what the epilogue costs at AMX rates
//   BM_gemm_f32_blocking/kcK_ncN  the f32 GEMM (f32 B per call) with K blocks of K and N blocks of N instead
//                            of the f32 kernel set's 384 and 240, at the shapes below
//   BM_gemm_amx_blocking/kcK_ncN[_packed]  the amx GEMM with K blocks of K and N blocks of N instead of the
//                            path's own, B packed per call (or once, _packed), at the shapes below
//   BM_gemm_bf16c_blocking   the bf16 products' GEMM (its kernel set for this CPU) with other K and N
//                            blocks than the set's own (kc, nc from the arguments; nc rounded down to
//                            whole panels), 1 thread, 1025 x 3200 x 4096: the table for choosing them.
//                            The grid reaches down to blocks whose M x nc block of C stays in L2 across
//                            K blocks (nc 128: 0.5 MB), which matters once the products run at AMX rates,
//                            and up to one K block (kc 4096 > K: no partial sums to add to C).
// On the amx path (INTERNVL_CPU_ISA, default where present) BM_gemm_ours_bf16c runs the AMX kernels.
// Every counter is GFLOP/s of wall time (2·M·N·K per GEMM); cpu_time is the whole process's CPU time,
// from which gemm_table.py also derives rates that other work on a shared machine disturbs less.
// benchmarks/gemm_table.py runs this binary and prints the comparison table; run it with
// OMP_WAIT_POLICY=passive so that idle Eigen threads do not spin.
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <sched.h>
#include <sys/mman.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <new>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "eigen_gemm.hpp"
#include "internvl/backend/cpu/gemm/gemm.hpp"
#include "internvl/core/tensor.hpp"

using namespace internvl;

namespace {

// Values in [-1, 1) from a fixed integer hash: cheap to make for 40M-element weights.
template <class T, std::size_t Rank>
Tensor<T, Rank> filled(const Extents<Rank>& shape, std::uint32_t seed) {
  Tensor<T, Rank> t(shape);
  for (index_t i = 0; i < t.numel(); ++i) {
    std::uint32_t h = (static_cast<std::uint32_t>(i) + seed) * 2654435761u;
    h ^= h >> 15;
    t.data()[i] = T(static_cast<float>(h & 0xFFFF) / 32768.0f - 1.0f);
  }
  return t;
}

void set_gflops(benchmark::State& state, index_t m, index_t k, index_t n) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * static_cast<double>(m * n * k) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

template <class W>
void run_ours(benchmark::State& state, cpu::Precision precision = cpu::Precision::f32, bool prepacked = false) {
  const index_t m = state.range(0), k = state.range(1), n = state.range(2);
  ThreadPool pool(static_cast<int>(state.range(3)));
  Workspace<> ws;
  const auto a = filled<float>(Extents<2>{m, k}, 1);
  const auto b = filled<W>(Extents<2>{n, k}, 2);
  Tensor<float, 2> c(Extents<2>{m, n});
  PackSlot slot;
  const WeightView<2> weight = prepacked ? WeightView<2>(b.view()).with_pack_slot(&slot) : WeightView<2>(b.view());
  const auto product = [&] {
    cpu::gemm(pool, ws, c.view(), a.view(), weight, {}, precision, cpu::active_isa(), prepacked);
  };
  product();  // untimed: C's pages, the workspace and the pool's threads warm (and B packed into the slot)
  for (auto _ : state) {
    product();
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_gflops(state, m, k, n);
}

void BM_gemm_ours_f32(benchmark::State& state) { run_ours<float>(state); }
void BM_gemm_ours_bf16(benchmark::State& state) { run_ours<bf16>(state); }
void BM_gemm_ours_bf16c(benchmark::State& state) { run_ours<bf16>(state, cpu::Precision::bf16); }
void BM_gemm_ours_bf16c_prepacked(benchmark::State& state) { run_ours<bf16>(state, cpu::Precision::bf16, true); }
void BM_gemm_ours_f32_prepacked(benchmark::State& state) { run_ours<float>(state, cpu::Precision::f32, true); }
void BM_gemm_f32_scaling(benchmark::State& state) { run_ours<float>(state); }

template <bool (*SetThreads)(int), void (*Gemm)(const float*, const float*, float*, long, long, long),
          const char* (*Simd)()>
void run_eigen(benchmark::State& state) {
  const index_t m = state.range(0), k = state.range(1), n = state.range(2);
  if (!SetThreads(static_cast<int>(state.range(3)))) {
    state.SkipWithError("Eigen was built without OpenMP: it cannot use more than one thread");
    return;
  }
  const auto a = filled<float>(Extents<2>{m, k}, 1);
  const auto b = filled<float>(Extents<2>{n, k}, 2);
  Tensor<float, 2> c(Extents<2>{m, n});
  Gemm(a.data(), b.data(), c.data(), m, k, n);  // untimed, as ours: C's pages and OpenMP's threads warm
  for (auto _ : state) {
    Gemm(a.data(), b.data(), c.data(), m, k, n);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(Simd());
  set_gflops(state, m, k, n);
}

namespace native = bench::eigen_native;
namespace baseline = bench::eigen_baseline;
void BM_gemm_eigen(benchmark::State& state) { run_eigen<native::set_threads, native::gemm, native::simd>(state); }
void BM_gemm_eigen_baseline(benchmark::State& state) {
  run_eigen<baseline::set_threads, baseline::gemm, baseline::simd>(state);
}

// 24 (AVX-512) or 12 (AVX2) independent accumulators: enough to cover the FMA latency at full rate.
// The AVX2 and AVX-512 loops are separate functions: each carries its own target attribute.
constexpr long kFmaIterations = 1 << 22;

// The sum of the AVX-512 loops' accumulators, kept from being optimised away.
INTERNVL_TARGET_AVX512 void keep(const __m512 (&acc)[24]) {
  __m512 sum = _mm512_setzero_ps();
  for (const __m512& x : acc) {
    sum = _mm512_add_ps(sum, x);
  }
  benchmark::DoNotOptimize(sum);
}

INTERNVL_TARGET_AVX512 double fma_avx512() {
  __m512 acc[24];
  for (__m512& x : acc) {
    x = _mm512_setzero_ps();
  }
  const __m512 a = _mm512_set1_ps(1e-7f), b = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < kFmaIterations; ++it) {
#pragma GCC unroll 24
    for (__m512& x : acc) {
      x = _mm512_fmadd_ps(a, b, x);
    }
  }
  keep(acc);
  return 2.0 * 16 * 24 * kFmaIterations;
}

INTERNVL_TARGET_AVX2 double fma_avx2() {
  __m256 acc[12];
  for (__m256& x : acc) {
    x = _mm256_setzero_ps();
  }
  const __m256 a = _mm256_set1_ps(1e-7f), b = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < kFmaIterations; ++it) {
#pragma GCC unroll 12
    for (__m256& x : acc) {
      x = _mm256_fmadd_ps(a, b, x);
    }
  }
  __m256 sum = _mm256_setzero_ps();
  for (const __m256& x : acc) {
    sum = _mm256_add_ps(sum, x);
  }
  benchmark::DoNotOptimize(sum);
  return 2.0 * 8 * 12 * kFmaIterations;
}

// 24 independent accumulators, as in the bf16 GEMM kernel.
INTERNVL_TARGET_AVX512_BF16 double dpbf16_avx512() {
  __m512 acc[24];
  for (__m512& x : acc) {
    x = _mm512_setzero_ps();
  }
  const auto a = (__m512bh)_mm512_set1_epi32(0x33d633d6);  // bf16 pairs of 1e-7
  const auto b = (__m512bh)_mm512_set1_epi32(0x33d633d6);
  for (long it = 0; it < kFmaIterations; ++it) {
#pragma GCC unroll 24
    for (__m512& x : acc) {
      x = _mm512_dpbf16_ps(x, a, b);
    }
  }
  keep(acc);
  return 4.0 * 16 * 24 * kFmaIterations;
}

// Four independent accumulator tiles (as in the amx GEMM kernel), operands of bf16 1e-7 loaded once.
INTERNVL_TARGET_AMX double dpbf16_amx() {
  using Tiles = cpu::packed::amx::HardwareTiles;
  alignas(64) static const std::array<std::array<std::uint16_t, 32>, 16> operand = [] {
    std::array<std::array<std::uint16_t, 32>, 16> rows{};
    for (auto& row : rows) {
      row.fill(0x33d6);
    }
    return rows;
  }();
  constexpr long kTileIterations = kFmaIterations / 64;  // each TDPBF16PS is 512 lane-pairs of work
  Tiles::configure();
  Tiles::zero_c<0, 0>();
  Tiles::zero_c<0, 1>();
  Tiles::zero_c<1, 0>();
  Tiles::zero_c<1, 1>();
  Tiles::load_a<0>(operand.data(), 64);
  Tiles::load_a<1>(operand.data(), 64);
  Tiles::load_b<0>(operand.data(), 64);
  Tiles::load_b<1>(operand.data(), 64);
  for (long it = 0; it < kTileIterations; ++it) {
    Tiles::multiply_add<0, 0>();
    Tiles::multiply_add<0, 1>();
    Tiles::multiply_add<1, 0>();
    Tiles::multiply_add<1, 1>();
  }
  alignas(64) float out[16][16];
  Tiles::store_c<0, 0>(out, 64);
  Tiles::release();
  benchmark::DoNotOptimize(out);
  return 2.0 * 16 * 16 * 32 * 4 * kTileIterations;
}

// The probes of the amx kernel's 32 k step (BM_amx_probe in the header). Operands: 4 KB in L1, the A
// tiles' rows 64 bytes apart and the B tiles' 128, as in the packed panels.
struct alignas(64) AmxProbeOperands {
  std::array<std::uint16_t, 2048> values;
  AmxProbeOperands() { values.fill(0x33d6); }  // bf16 1e-7
  const std::byte* a(int r) const { return reinterpret_cast<const std::byte*>(values.data()) + r * 1024; }
  const std::byte* b(int c) const { return reinterpret_cast<const std::byte*>(values.data()) + 2048 + c * 64; }
};
constexpr long kProbeIterations = kFmaIterations / 64;

// TDPBF16PS tmm<C>, tmm<A>, tmm<B> for any three registers (HardwareTiles fixes A and B by C's position).
template <int C, int A, int B>
void tdpbf16ps() {
  __asm__ volatile("{tdpbf16ps %%tmm%c0, %%tmm%c1, %%tmm%c2|tdpbf16ps %%tmm%c2, %%tmm%c1, %%tmm%c0}"
                   :
                   : "i"(B), "i"(A), "i"(C));
}

using AmxTiles = cpu::packed::amx::HardwareTiles;
constexpr double kStepFlops = 2.0 * 16 * 16 * 32 * 4;  // four TDPBF16PS
constexpr double kStepBytes = 4.0 * 1024;             // four tile loads

// Loads the tile configuration, runs setup() once and step() kProbeIterations times, releases the tiles;
// returns work_per_step times the steps.
template <class Setup, class Step>
INTERNVL_TARGET_AMX double run_probe(double work_per_step, Setup setup, Step step) {
  AmxTiles::configure();
  setup();
  for (long it = 0; it < kProbeIterations; ++it) {
    step();
  }
  AmxTiles::release();
  return work_per_step * kProbeIterations;
}

// The kernel's four loads of a 32 k step: A(0), A(1), B(0), B(1).
inline void load_step(const AmxProbeOperands& operands) {
  AmxTiles::load_a<0>(operands.a(0), 64);
  AmxTiles::load_a<1>(operands.a(1), 64);
  AmxTiles::load_b<0>(operands.b(0), 128);
  AmxTiles::load_b<1>(operands.b(1), 128);
}

// Returns the bytes of tile data loaded.
double amx_probe_loads() {
  const AmxProbeOperands operands;
  return run_probe(kStepBytes, [] {}, [&] { load_step(operands); });
}

// Returns the flops: four products of A(0) and B(0), beside a load into A(1) and one into B(1). (Only two:
// the two registers no product reads are all there is, and a second load into one would wait for the first.)
double amx_probe_products_beside_loads() {
  namespace amx = cpu::packed::amx;
  const AmxProbeOperands operands;
  return run_probe(
      kStepFlops,
      [&] {
        AmxTiles::load_a<0>(operands.a(0), 64);
        AmxTiles::load_b<0>(operands.b(0), 128);
      },
      [&] {
        AmxTiles::load_a<1>(operands.a(1), 64);
        tdpbf16ps<amx::c_tile(0, 0), amx::a_tile(0), amx::b_tile(0)>();
        tdpbf16ps<amx::c_tile(0, 1), amx::a_tile(0), amx::b_tile(0)>();
        AmxTiles::load_b<1>(operands.b(1), 128);
        tdpbf16ps<amx::c_tile(1, 0), amx::a_tile(0), amx::b_tile(0)>();
        tdpbf16ps<amx::c_tile(1, 1), amx::a_tile(0), amx::b_tile(0)>();
      });
}

// Returns the flops: the kernel's step in its loads_first order, each product reading what was just loaded.
double amx_probe_products_after_loads() {
  const AmxProbeOperands operands;
  return run_probe(kStepFlops, [] {}, [&] {
    load_step(operands);
    AmxTiles::multiply_add<0, 0>();
    AmxTiles::multiply_add<0, 1>();
    AmxTiles::multiply_add<1, 0>();
    AmxTiles::multiply_add<1, 1>();
  });
}

// Returns the flops: a 16 × 32 block's steps with their operands double-buffered, the order a kernel
// with two accumulators (tmm0, tmm1) would use to keep every load off the registers the running
// products read: per two steps, A' and B' (tmm5; tmm2, tmm3) load while C += A · B (tmm4; tmm6, tmm7)
// runs, then A and B load while C += A' · B' runs. 1.5 loads per product, as such a kernel would do.
double amx_probe_double_buffered() {
  const AmxProbeOperands operands;
  const auto load_operands = [&] {
    AmxTiles::load_a<0>(operands.a(0), 64);
    AmxTiles::load_b<0>(operands.b(0), 128);
    AmxTiles::load_b<1>(operands.b(1), 128);
  };
  return run_probe(kStepFlops, load_operands, [&] {
    AmxTiles::load_a<1>(operands.a(1), 64);
    AmxTiles::load_c<1, 0>(operands.b(0), 128);  // tmm2: B' (the registers of C(1, ·), which this block lacks)
    AmxTiles::load_c<1, 1>(operands.b(1), 128);  // tmm3
    tdpbf16ps<0, 4, 6>();
    tdpbf16ps<1, 4, 7>();
    load_operands();
    tdpbf16ps<0, 5, 2>();
    tdpbf16ps<1, 5, 3>();
  });
}

// Runs per_thread (which returns the work it did: flops, or bytes) on every thread of a pool of
// state.range(0) at once, and reports the rate as `counter` (G per second). Each task waits at a start
// barrier until all have begun: the pool hands tasks out from a shared counter, and without it a thread
// that started late would leave the calling thread to run two tasks one after the other, a ceiling
// measured on fewer threads than it claims.
void run_peak(benchmark::State& state, double (*per_thread)(), const char* counter = "GFLOP/s") {
  const int threads = static_cast<int>(state.range(0));
  ThreadPool pool(threads);
  std::vector<double> work(static_cast<std::size_t>(threads), 0.0);
  for (auto _ : state) {
    std::atomic<int> started{0};
    pool.run(threads, [&](index_t task) {
      started.fetch_add(1, std::memory_order_acq_rel);
      while (started.load(std::memory_order_acquire) < threads) {
        _mm_pause();
      }
      work[static_cast<std::size_t>(task)] = per_thread();
    });
  }
  const double total = std::accumulate(work.begin(), work.end(), 0.0);
  state.counters[counter] = benchmark::Counter(total * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_dpbf16_peak(benchmark::State& state) {
  if (!cpu::cpu_features().avx512_bf16) {
    state.SkipWithError("this CPU has no AVX512-BF16");
    return;
  }
  run_peak(state, dpbf16_avx512);
}

void BM_amx_peak(benchmark::State& state) {
  if (!cpu::cpu_features().amx) {
    state.SkipWithError("this CPU (or its OS) offers no AMX-BF16 tiles");
    return;
  }
  run_peak(state, dpbf16_amx);
}

void BM_amx_probe(benchmark::State& state, double (*probe)(), const char* counter) {
  if (!cpu::cpu_features().amx) {
    state.SkipWithError("this CPU (or its OS) offers no AMX-BF16 tiles");
    return;
  }
  run_peak(state, probe, counter);
}

void BM_fma_peak(benchmark::State& state) {
  run_peak(state, cpu::active_isa() == cpu::Isa::avx2 ? fma_avx2 : fma_avx512);
}

// The bf16 products' kernel set with the K block and N block of the arguments, through the GEMM's driver.
void BM_gemm_bf16c_blocking(benchmark::State& state) {
  cpu::packed::KernelSet ks = cpu::packed::kernel_set(cpu::active_isa(), cpu::Precision::bf16);
  ks.kc = state.range(0) / ks.k_step * ks.k_step;
  ks.nc = std::max<index_t>(1, state.range(1) / ks.nr) * ks.nr;
  constexpr index_t m = 1025, k = 3200, n = 4096;
  ThreadPool pool(1);
  Workspace<> ws;
  const auto a = filled<float>(Extents<3>{1, m, k}, 1);
  const auto b = filled<bf16>(Extents<3>{1, n, k}, 2);
  Tensor<float, 3> c(Extents<3>{1, m, n});
  for (auto _ : state) {
    cpu::packed::gemm_with(ks, pool, ws, c.view(), a.view(), b.view(), {});
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_gflops(state, m, k, n);
  state.counters["kc"] = static_cast<double>(ks.kc);
  state.counters["nc"] = static_cast<double>(ks.nc);
  state.SetLabel(std::string(cpu::isa_name(cpu::active_isa())));
}

// One kernel set's micro-tile kernel on packed panels (see the header): one B panel, or a whole B block.
void BM_microkernel(benchmark::State& state, cpu::Isa isa, const cpu::packed::KernelSet& ks) {
  if (!cpu::supports(cpu::cpu_features(), isa)) {
    state.SkipWithError("this CPU lacks the path");
    return;
  }
  const index_t kc = state.range(1) / ks.k_step * ks.k_step, b_panels = state.range(0) != 0 ? ks.nc / ks.nr : 1;
  const auto a = filled<float>(Extents<2>{ks.mr, kc}, 1);
  const auto b = filled<bf16>(Extents<2>{b_panels * ks.nr, kc}, 2);
  Workspace<> ws;  // 64-byte aligned, as the GEMM's own buffers
  const index_t b_panel_bytes = ks.panel_bytes(ks.nr, kc);
  std::byte* a_panel = ws.allocate<std::byte>(static_cast<std::size_t>(ks.panel_bytes(ks.mr, kc)));
  std::byte* b_block = ws.allocate<std::byte>(static_cast<std::size_t>(b_panels * b_panel_bytes));
  ks.pack_a(a.data(), kc, ks.mr, kc, ks.mr, a_panel);
  for (index_t j = 0; j < b_panels; ++j) {
    ks.pack_b_for(DType::bf16)(b.data() + j * ks.nr * kc, kc, ks.nr, kc, ks.nr, b_block + j * b_panel_bytes);
  }
  alignas(64) std::array<float, 32 * 32> c{};  // the largest micro-tile (amx: 32 x 32)
  cpu::packed::MicroTile tile{.a = a_panel, .c = c.data(), .ldc = ks.nr, .kc = kc, .accumulate = true,
                              .rows = ks.mr, .cols = ks.nr};
  const cpu::packed::MicroKernel kernel =
      ks.tile_kernel != nullptr ? ks.tile_kernel : ks.kernels[ks.mr - 1][ks.nr / ks.lanes - 1];
  if (ks.thread_begin != nullptr) {
    ks.thread_begin();
  }
  for (auto _ : state) {
    for (index_t j = 0; j < b_panels; ++j) {
      tile.b = b_block + j * b_panel_bytes;
      kernel(tile);
    }
    benchmark::ClobberMemory();
  }
  if (ks.thread_end != nullptr) {
    ks.thread_end();
  }
  benchmark::DoNotOptimize(c.data());
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * ks.mr * ks.nr * static_cast<double>(kc * b_panels) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["b_panels"] = static_cast<double>(b_panels);
  state.counters["kc"] = static_cast<double>(kc);
}

void BM_f32_tile_traffic(benchmark::State& state) {
  namespace packed = cpu::packed;
  const packed::KernelSet& ks = packed::kernel_set(cpu::active_isa(), cpu::Precision::f32);
  const index_t a_panels = state.range(0), ldc = state.range(1) != 0 ? 4096 : 240, kc = 384;
  const index_t b_panels = 240 / ks.nr;
  const auto a = filled<float>(Extents<2>{a_panels * ks.mr, kc}, 1);
  const auto b = filled<float>(Extents<2>{b_panels * ks.nr, kc}, 2);
  Tensor<float, 2> c(Extents<2>{a_panels * ks.mr, ldc}, 0.0f);
  Workspace<> ws;
  const index_t a_bytes = ks.panel_bytes(ks.mr, kc), b_bytes = ks.panel_bytes(ks.nr, kc);
  std::byte* a_packed = ws.allocate<std::byte>(static_cast<std::size_t>(a_panels * a_bytes));
  std::byte* b_packed = ws.allocate<std::byte>(static_cast<std::size_t>(b_panels * b_bytes));
  for (index_t p = 0; p < a_panels; ++p) {
    ks.pack_a(a.data() + p * ks.mr * kc, kc, ks.mr, kc, ks.mr, a_packed + p * a_bytes);
  }
  for (index_t j = 0; j < b_panels; ++j) {
    ks.pack_b_for(DType::f32)(b.data() + j * ks.nr * kc, kc, ks.nr, kc, ks.nr, b_packed + j * b_bytes);
  }
  const packed::MicroKernel kernel = ks.kernels[ks.mr - 1][ks.nr / ks.lanes - 1];
  packed::MicroTile tile{.ldc = ldc, .kc = kc, .accumulate = true, .rows = ks.mr, .cols = ks.nr};
  for (auto _ : state) {
    for (index_t p = 0; p < a_panels; ++p) {
      tile.a = a_packed + p * a_bytes;
      for (index_t j = 0; j < b_panels; ++j) {
        tile.b = b_packed + j * b_bytes;
        tile.c = c.data() + p * ks.mr * ldc + j * ks.nr;
        kernel(tile);
      }
    }
    benchmark::ClobberMemory();
  }
  benchmark::DoNotOptimize(c.data());
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * static_cast<double>(a_panels * ks.mr * b_panels * ks.nr * kc) * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate);
}

// Bytes of the process's anonymous memory in transparent huge pages (0 where the file is missing).
double anon_huge_page_bytes() {
  std::ifstream rollup("/proc/self/smaps_rollup");
  std::string key;
  double kilobytes = 0;
  while (rollup >> key) {
    if (key == "AnonHugePages:" && rollup >> kilobytes) {
      return kilobytes * 1024;
    }
  }
  return 0;
}

// An m x n f32 matrix, zeroed, in a fresh anonymous mapping, 2 MiB aligned and advised for transparent
// huge pages before its first touch (madvise MADV_HUGEPAGE; a hint, which a kernel with THP off
// ignores); `huge_bytes` is how much of it came in huge pages.
struct HugePageMatrix {
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;
  static constexpr std::size_t whole_pages(std::size_t x) { return (x + kHugePage - 1) / kHugePage * kHugePage; }

  std::size_t bytes;   // the matrix rounded up to whole huge pages
  std::size_t mapped;  // and one more, to align its start
  void* mapping;
  float* data;
  double huge_bytes;

  HugePageMatrix(index_t m, index_t n)
      : bytes(whole_pages(static_cast<std::size_t>(m * n) * sizeof(float))),
        mapped(bytes + kHugePage),
        mapping(::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) {
    if (mapping == MAP_FAILED) {
      throw std::bad_alloc();
    }
    data = reinterpret_cast<float*>(whole_pages(reinterpret_cast<std::uintptr_t>(mapping)));
    ::madvise(data, bytes, MADV_HUGEPAGE);
    const double before = anon_huge_page_bytes();
    std::memset(data, 0, bytes);
    huge_bytes = anon_huge_page_bytes() - before;
  }
  ~HugePageMatrix() { ::munmap(mapping, mapped); }
  HugePageMatrix(const HugePageMatrix&) = delete;
  HugePageMatrix& operator=(const HugePageMatrix&) = delete;
};

// The f32 GEMM's tile loops alone, C in ordinary pages or (HugeC) in transparent huge pages.
template <bool HugeC>
void run_f32_tiles(benchmark::State& state) {
  namespace packed = cpu::packed;
  const packed::KernelSet& ks = packed::kernel_set(cpu::active_isa(), cpu::Precision::f32);
  const index_t m = state.range(0), k = state.range(1), n = state.range(2), threads = state.range(3);
  ThreadPool pool(static_cast<int>(threads));
  Workspace<> ws;
  const auto a = filled<float>(Extents<2>{m, k}, 1);
  const auto b = filled<float>(Extents<2>{n, k}, 2);
  Tensor<float, 2> c_ordinary(Extents<2>{HugeC ? 0 : m, n}, 0.0f);
  std::optional<HugePageMatrix> c_huge;
  if constexpr (HugeC) {
    c_huge.emplace(m, n);
    state.counters["huge_MB"] = c_huge->huge_bytes / (1 << 20);
  }
  float* c = HugeC ? c_huge->data : c_ordinary.data();
  const auto b_panels = packed::prepack(ks, pool, WeightView<2>(b.view()));
  const packed::Operands x{
      .m = m, .n = n, .k = k, .a = a.data(), .lda = k, .b_prepacked = b_panels.get(), .c = c, .ldc = n};
  const index_t m_panels = packed::ceil_div(m, ks.mr), n_panels = packed::ceil_div(n, ks.nr);
  std::byte* a_panels = ws.allocate<std::byte>(static_cast<std::size_t>(packed::packed_a_bytes(ks, m, k)));
  packed::pack_a(ks, x, a_panels, {0, m_panels}, nullptr);
  const packed::ThreadGrid grid = packed::thread_grid(ks, m_panels, n_panels, threads, false);
  for (auto _ : state) {
    pool.run(grid.blocks(), [&](index_t t) {
      packed::multiply(ks, x, a_panels, nullptr, grid.rows(m_panels, t), grid.columns(n_panels, t));
    });
    benchmark::DoNotOptimize(c);
    benchmark::ClobberMemory();
  }
  set_gflops(state, m, k, n);
}

void BM_gemm_f32_tiles(benchmark::State& state) { run_f32_tiles<false>(state); }
void BM_gemm_f32_tiles_huge_c(benchmark::State& state) { run_f32_tiles<true>(state); }

// The GEMM through kernel set `ks` (which this CPU must be able to run), B stored as W and packed once
// before the timed loop (as a model's weights are) or per call, at the shapes of `shapes`; with a bias,
// and GELU, if asked.
template <class W>
void run_gemm_with(benchmark::State& state, const cpu::packed::KernelSet& ks, bool prepacked, bool bias = false,
                   bool gelu = false) {
  const index_t m = state.range(0), k = state.range(1), n = state.range(2);
  ThreadPool pool(static_cast<int>(state.range(3)));
  Workspace<> ws;
  const auto a = filled<float>(Extents<3>{1, m, k}, 1);
  const auto b = filled<W>(Extents<3>{1, n, k}, 2);
  Tensor<float, 3> c(Extents<3>{1, m, n});
  const auto bias_values = filled<float>(Extents<1>{n}, 3);
  const cpu::GemmEpilogue epilogue{.bias = bias ? bias_values.view() : CView<float, 1>{}, .gelu = gelu};
  const auto panels = prepacked ? cpu::packed::prepack(ks, pool, WeightView<2>(b.view()[0])) : nullptr;
  for (auto _ : state) {
    cpu::packed::gemm_with(ks, pool, ws, c.view(), a.view(), WeightView<3>(b.view()), epilogue, panels.get());
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_gflops(state, m, k, n);
}

// run_gemm_with on the amx path, bf16 B.
void run_amx_gemm(benchmark::State& state, const cpu::packed::KernelSet& ks, bool prepacked, bool bias = false,
                  bool gelu = false) {
  if (!cpu::cpu_features().amx) {
    state.SkipWithError("this CPU (or its OS) offers no AMX-BF16 tiles");
    return;
  }
  run_gemm_with<bf16>(state, ks, prepacked, bias, gelu);
}

// The f32 GEMM of issue #2's table (this CPU's f32 kernels, f32 B packed per call) with other K and N
// blocks than the kernel set's own: whether a core with other caches wants other blocks (the Intel
// host's 48 KB L1D and 2 MB L2 against this Zen 4's 32 KB and 1 MB, for which 384 × 240 was chosen).
void BM_gemm_f32_blocking(benchmark::State& state, index_t kc, index_t nc) {
  cpu::packed::KernelSet ks = cpu::packed::kernel_set(cpu::active_isa(), cpu::Precision::f32);
  ks.kc = kc;
  ks.nc = nc;
  run_gemm_with<float>(state, ks, false);
}

// The amx GEMM with the kernel of one tile schedule, B packed once: which schedule to make the
// library's (kernel_amx.hpp).
void BM_gemm_amx_schedule(benchmark::State& state, const cpu::packed::KernelSet& ks) { run_amx_gemm(state, ks, true); }

// The amx GEMM (the library's kernel set, B packed once) with a bias, or a bias and GELU: what the
// epilogue costs at AMX rates (without either, a whole tile of the first K block is stored straight
// from the accumulators; with them, every tile goes through the AVX-512 epilogue).
void BM_gemm_amx_epilogue(benchmark::State& state, bool gelu) {
  run_amx_gemm(state, cpu::packed::amx::kKernels, true, true, gelu);
}

// The amx GEMM (the library's schedule) with another K block and N block than the path's own, B packed
// once or per call: which kc and nc to make the library's.
void BM_gemm_amx_blocking(benchmark::State& state, index_t kc, index_t nc, bool prepacked) {
  cpu::packed::KernelSet ks = cpu::packed::amx::kKernels;
  ks.kc = kc;
  ks.nc = nc;
  run_amx_gemm(state, ks, prepacked);
}

// b_block 0 / 1 (one B panel / a whole B block) at K blocks of 128, 256 and 512.
void microkernel_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"b_block", "kc"})->ArgsProduct({{0, 1}, {128, 256, 512}});
}

// M (tokens), K, N: 300M qkv and fc1 shapes at 257 / 1025 tokens, 6B fc1 at 1025 and 257 tokens.
void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "K", "N", "threads"});
  for (const auto& [m, k, n] :
       {std::array<index_t, 3>{257, 1024, 3072}, {1025, 1024, 4096}, {1025, 3200, 9600}, {257, 3200, 12800}}) {
    for (index_t threads : {1, 2}) {
      b->Args({m, k, n, threads});
    }
  }
  b->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();
}

// The f32 GEMM on 1, 2, 4, ... threads, on one thread per core (physical_cores, the pool's default
// outside a CPU quota) and on every CPU this process may use, at InternViT's narrowest outputs: 300M's proj and fc2 (1024 columns, 22 panels)
// and 6B's (3200, 67 panels), and at 144 columns (3 panels, fewer than most machines' threads). GFLOP/s
// per thread against one thread's is how well the thread grid (gemm.hpp) balances them; all CPUs
// against one per core, what SMT siblings add.
void scaling_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"M", "K", "N", "threads"});
  cpu_set_t affinity;
  if (sched_getaffinity(0, sizeof(affinity), &affinity) != 0) {
    CPU_ZERO(&affinity);
    CPU_SET(0, &affinity);
  }
  const index_t cpus = CPU_COUNT(&affinity);
  std::set<index_t> counts = {cpus};
  for (index_t threads = 1; threads < cpus; threads *= 2) {
    counts.insert(threads);
  }
  if (const index_t cores = physical_cores(affinity); cores > 0 && cores < cpus) {
    counts.insert(cores);
  }
  for (const auto& [m, k, n] : {std::array<index_t, 3>{1025, 1024, 1024}, {257, 3200, 3200}, {1025, 1024, 144}}) {
    for (const index_t threads : counts) {
      b->Args({m, k, n, threads});
    }
  }
  b->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();
}

}  // namespace

BENCHMARK(BM_fma_peak)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->MeasureProcessCPUTime();
BENCHMARK(BM_dpbf16_peak)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->MeasureProcessCPUTime();
BENCHMARK(BM_amx_peak)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(BM_amx_probe, loads, amx_probe_loads, "GB/s")->ArgName("threads")->Arg(1)->UseRealTime();
BENCHMARK_CAPTURE(BM_amx_probe, products_beside_loads, amx_probe_products_beside_loads, "GFLOP/s")
    ->ArgName("threads")
    ->Arg(1)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_amx_probe, products_after_loads, amx_probe_products_after_loads, "GFLOP/s")
    ->ArgName("threads")
    ->Arg(1)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_amx_probe, double_buffered, amx_probe_double_buffered, "GFLOP/s")
    ->ArgName("threads")
    ->Arg(1)
    ->UseRealTime();
using cpu::Isa, cpu::Precision, cpu::packed::kernel_set;
namespace amx = cpu::packed::amx;
constexpr auto kAmxLoadsFirst = amx::kernel_set<amx::HardwareTiles, amx::TileSchedule::loads_first>();
constexpr auto kAmxInterleaved = amx::kernel_set<amx::HardwareTiles, amx::TileSchedule::interleaved>();
constexpr auto kAmxPipelined = amx::kernel_set<amx::HardwareTiles, amx::TileSchedule::pipelined>();
BENCHMARK_CAPTURE(BM_microkernel, avx2, Isa::avx2, kernel_set(Isa::avx2, Precision::f32))->Apply(microkernel_args);
BENCHMARK_CAPTURE(BM_microkernel, avx512, Isa::avx512, kernel_set(Isa::avx512, Precision::f32))
    ->Apply(microkernel_args);
BENCHMARK_CAPTURE(BM_microkernel, avx512_bf16, Isa::avx512_bf16, kernel_set(Isa::avx512_bf16, Precision::bf16))
    ->Apply(microkernel_args);
BENCHMARK_CAPTURE(BM_microkernel, amx_loads_first, Isa::amx, kAmxLoadsFirst)->Apply(microkernel_args);
BENCHMARK_CAPTURE(BM_microkernel, amx_interleaved, Isa::amx, kAmxInterleaved)->Apply(microkernel_args);
BENCHMARK_CAPTURE(BM_microkernel, amx_pipelined, Isa::amx, kAmxPipelined)->Apply(microkernel_args);
BENCHMARK_CAPTURE(BM_gemm_amx_schedule, loads_first, kAmxLoadsFirst)->Apply(shapes);
BENCHMARK_CAPTURE(BM_gemm_amx_schedule, interleaved, kAmxInterleaved)->Apply(shapes);
BENCHMARK_CAPTURE(BM_gemm_amx_schedule, pipelined, kAmxPipelined)->Apply(shapes);
BENCHMARK_CAPTURE(BM_gemm_amx_epilogue, bias, false)->Apply(shapes);
BENCHMARK_CAPTURE(BM_gemm_amx_epilogue, bias_gelu, true)->Apply(shapes);
BENCHMARK_CAPTURE(BM_gemm_amx_blocking, kc512_nc512_packed, 512, 512, true)->Apply(shapes);
BENCHMARK_CAPTURE(BM_gemm_amx_blocking, kc1024_nc512_packed, 1024, 512, true)->Apply(shapes);
BENCHMARK_CAPTURE(BM_gemm_amx_blocking, kc2048_nc256_packed, 2048, 256, true)->Apply(shapes);
BENCHMARK_CAPTURE(BM_gemm_amx_blocking, kc4096_nc256_packed, 4096, 256, true)->Apply(shapes);
BENCHMARK_CAPTURE(BM_gemm_amx_blocking, kc512_nc512, 512, 512, false)->Apply(shapes);
BENCHMARK_CAPTURE(BM_gemm_amx_blocking, kc1024_nc512, 1024, 512, false)->Apply(shapes);
BENCHMARK_CAPTURE(BM_gemm_amx_blocking, kc2048_nc256, 2048, 256, false)->Apply(shapes);
BENCHMARK_CAPTURE(BM_gemm_amx_blocking, kc4096_nc256, 4096, 256, false)->Apply(shapes);
BENCHMARK_CAPTURE(BM_gemm_f32_blocking, kc384_nc240, 384, 240)->Apply(shapes);
BENCHMARK_CAPTURE(BM_gemm_f32_blocking, kc512_nc240, 512, 240)->Apply(shapes);
BENCHMARK_CAPTURE(BM_gemm_f32_blocking, kc768_nc240, 768, 240)->Apply(shapes);
BENCHMARK_CAPTURE(BM_gemm_f32_blocking, kc1024_nc240, 1024, 240)->Apply(shapes);
BENCHMARK_CAPTURE(BM_gemm_f32_blocking, kc384_nc480, 384, 480)->Apply(shapes);
BENCHMARK_CAPTURE(BM_gemm_f32_blocking, kc768_nc480, 768, 480)->Apply(shapes);
BENCHMARK(BM_gemm_bf16c_blocking)
    ->ArgNames({"kc", "nc"})
    ->ArgsProduct({{128, 256, 512, 1024, 2048, 4096}, {128, 256, 512, 1024}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();
BENCHMARK(BM_gemm_ours_f32)->Apply(shapes);
BENCHMARK(BM_gemm_ours_bf16)->Apply(shapes);
BENCHMARK(BM_gemm_ours_bf16c)->Apply(shapes);
BENCHMARK(BM_gemm_ours_bf16c_prepacked)->Apply(shapes);
BENCHMARK(BM_gemm_ours_f32_prepacked)->Apply(shapes);
BENCHMARK(BM_gemm_f32_scaling)->Apply(scaling_shapes);
BENCHMARK(BM_gemm_f32_tiles)->Apply(shapes);
BENCHMARK(BM_gemm_f32_tiles_huge_c)->Apply(shapes);
BENCHMARK(BM_f32_tile_traffic)->ArgNames({"a_panels", "c_stride"})->ArgsProduct({{1, 33}, {0, 1}});
BENCHMARK(BM_gemm_eigen)->Apply(shapes);
BENCHMARK(BM_gemm_eigen_baseline)->Apply(shapes);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("cpu_isa", std::string(cpu::active_isa_name()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
