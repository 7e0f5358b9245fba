// AVX2 microkernel: a 4 × 24 tile of C in 12 ymm accumulators (4 rows × 3 vectors of 8), which
// with the 3 B vectors and one broadcast uses all 16 ymm registers. Per k: 3 aligned loads of the
// packed B panel, 4 broadcasts from the packed A panel, 12 FMAs (two FMA pipes × 4-cycle latency
// need at least 8 independent accumulators). Every 8 k-steps it prefetches a line of the tile's C and
// of the next B block's source rows (prefetch_slot, blocking.hpp). Epilogue on the registers
// (MicroTile's): + bias, ⊙ scale, + C (later K blocks, or the residual), GELU, then plain stores. Tiles of fewer rows or vectors are separate
// instantiations.
// The body mirrors kernel_avx512.hpp's but cannot be one template with it: a target attribute cannot
// depend on a template parameter, and this path must hold no AVX-512 instruction.
#pragma once

#include <immintrin.h>

#include "internvl/backend/cpu/gemm/blocking.hpp"
#include "internvl/backend/cpu/gemm/gelu.hpp"
#include "internvl/backend/cpu/gemm/pack.hpp"
#include "internvl/backend/cpu/isa.hpp"

namespace internvl::cpu::packed::avx2 {

inline constexpr int kRows = 4;
inline constexpr int kVectors = 3;
inline constexpr int kCols = 8 * kVectors;

template <std::size_t N>
INTERNVL_TARGET_AVX2 inline __m256 horner(const float (&c)[N], __m256 t) {
  __m256 acc = _mm256_set1_ps(c[N - 1]);
  for (std::size_t i = N - 1; i-- > 0;) {
    acc = _mm256_fmadd_ps(acc, t, _mm256_set1_ps(c[i]));
  }
  return acc;
}

// Not inlined: the epilogue calls it once per vector of the last K block, and 12 inlined copies per
// kernel would only grow the code.
INTERNVL_TARGET_AVX2 __attribute__((noinline)) inline __m256 gelu(__m256 v) {
  namespace e = erf_approx;
  const __m256 abs_v = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
  const __m256 x = _mm256_mul_ps(abs_v, _mm256_set1_ps(e::kInvSqrt2));
  const __m256 small = _mm256_mul_ps(x, horner(e::kP, _mm256_mul_ps(x, x)));
  const __m256 xc = _mm256_min_ps(x, _mm256_set1_ps(e::kSaturate));
  const __m256 z = _mm256_mul_ps(xc, xc);  // e^(-z)
  const __m256 n =
      _mm256_round_ps(_mm256_mul_ps(z, _mm256_set1_ps(-e::kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmsub_ps(n, _mm256_set1_ps(e::kLn2Hi), z);  // -z - n·ln2_hi
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(e::kLn2Lo), r);
  const __m256i two_n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  const __m256 exp_neg_z = _mm256_mul_ps(horner(e::kE, r), _mm256_castsi256_ps(two_n));
  const __m256 q = horner(e::kQ, _mm256_fmadd_ps(xc, _mm256_set1_ps(e::kQScale), _mm256_set1_ps(e::kQShift)));
  const __m256 large = _mm256_fnmadd_ps(exp_neg_z, q, _mm256_set1_ps(1.0f));
  const __m256 erf_x = _mm256_blendv_ps(large, small, _mm256_cmp_ps(x, _mm256_set1_ps(e::kSplit), _CMP_LT_OQ));
  return _mm256_mul_ps(_mm256_fmadd_ps(abs_v, erf_x, v), _mm256_set1_ps(0.5f));
}

// Rows × (Vectors · 8) of the tile: Rows < kRows at the M edge, Vectors < kVectors at the N edge.
template <int Rows, int Vectors>
INTERNVL_TARGET_AVX2 void kernel(const MicroTile& t) {
  __m256 acc[Rows][Vectors];
#pragma GCC unroll 8
  for (int i = 0; i < Rows; ++i) {
#pragma GCC unroll 8
    for (int v = 0; v < Vectors; ++v) {
      acc[i][v] = _mm256_setzero_ps();
    }
  }
  const float* a = static_cast<const float*>(t.a);
  const float* b = static_cast<const float*>(t.b);
  for (index_t k = 0; k < t.kc; ++k) {
    __m256 bv[Vectors];
#pragma GCC unroll 8
    for (int v = 0; v < Vectors; ++v) {
      bv[v] = _mm256_load_ps(b + 8 * v);
    }
#pragma GCC unroll 8
    for (int i = 0; i < Rows; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
#pragma GCC unroll 8
      for (int v = 0; v < Vectors; ++v) {
        acc[i][v] = _mm256_fmadd_ps(ai, bv[v], acc[i][v]);
      }
    }
    a += kRows;
    b += kCols;
    if ((k & 7) == 7) {
      prefetch_slot<Rows, 8 * Vectors>(t, k >> 3);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < Rows; ++i) {
    float* c = t.c + i * t.ldc;
#pragma GCC unroll 8
    for (int v = 0; v < Vectors; ++v) {
      __m256 x = acc[i][v];
      if (t.bias != nullptr) {
        x = _mm256_add_ps(x, _mm256_loadu_ps(t.bias + 8 * v));
      }
      if (t.scale != nullptr) {
        x = _mm256_mul_ps(x, _mm256_loadu_ps(t.scale + 8 * v));
      }
      if (t.accumulate) {
        x = _mm256_add_ps(x, _mm256_loadu_ps(c + 8 * v));
      }
      if (t.gelu) {
        x = gelu(x);
      }
      _mm256_storeu_ps(c + 8 * v, x);
    }
  }
}

inline constexpr KernelTable kTable = kernel_table<kRows, kVectors>([]<int R, int V>() { return &kernel<R, V>; });

inline constexpr KernelSet kKernels{.name = "avx2",
                                    .mr = kRows,
                                    .nr = kCols,
                                    .lanes = 8,
                                    .kc = 384,
                                    .nc = 240,
                                    .k_step = 1,
                                    .element_bytes = 4,
                                    .pack_a = &pack_a_panel,
                                    .pack_b = {&pack_b_panel<float>, &pack_b_panel<bf16>, &pack_b_panel<f16>},
                                    .kernels = kTable};

}  // namespace internvl::cpu::packed::avx2
