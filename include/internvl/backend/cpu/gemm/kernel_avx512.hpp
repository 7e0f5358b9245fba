// AVX-512 microkernel: an 8 × 48 tile of C in 24 zmm accumulators (8 rows × 3 vectors of 16).
// Per k: 3 aligned loads of the packed B panel, 8 broadcasts from the packed A panel, 24 FMAs;
// 24 independent accumulators cover the FMA latency, so the loop is bound by the FMA pipes.
// Every 8 k-steps it prefetches a line of the next B block's source rows (MicroTile::prefetch).
// Epilogue on the registers: + C (later K blocks), + bias, GELU, then plain stores. Tiles of fewer
// rows or vectors are separate instantiations: no wasted FMAs at the M and N edges.
#pragma once

#include <immintrin.h>

#include <utility>

#include "internvl/backend/cpu/gemm/blocking.hpp"
#include "internvl/backend/cpu/gemm/gelu.hpp"
#include "internvl/backend/cpu/isa.hpp"

namespace internvl::cpu::packed::avx512 {

inline constexpr int kRows = 8;
inline constexpr int kVectors = 3;
inline constexpr int kCols = 16 * kVectors;

template <std::size_t N>
INTERNVL_TARGET_AVX512 inline __m512 horner(const float (&c)[N], __m512 t) {
  __m512 acc = _mm512_set1_ps(c[N - 1]);
  for (std::size_t i = N - 1; i-- > 0;) {
    acc = _mm512_fmadd_ps(acc, t, _mm512_set1_ps(c[i]));
  }
  return acc;
}

// GCC 12 reports the _mm512_undefined_ps() inside _mm512_min_ps / roundscale / scalef as
// uninitialized where they are inlined (here and in the kernels); every lane is overwritten.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// Not inlined: the epilogue calls it once per vector of the last K block, and 24 inlined copies per
// kernel would only grow the code.
INTERNVL_TARGET_AVX512 __attribute__((noinline)) inline __m512 gelu(__m512 v) {
  namespace e = erf_approx;
  const __m512 abs_v = _mm512_abs_ps(v);
  const __m512 x = _mm512_mul_ps(abs_v, _mm512_set1_ps(e::kInvSqrt2));
  const __m512 small = _mm512_mul_ps(x, horner(e::kP, _mm512_mul_ps(x, x)));
  const __m512 xc = _mm512_min_ps(x, _mm512_set1_ps(e::kSaturate));
  const __m512 z = _mm512_mul_ps(xc, xc);  // e^(-z)
  const __m512 n =
      _mm512_roundscale_ps(_mm512_mul_ps(z, _mm512_set1_ps(-e::kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmsub_ps(n, _mm512_set1_ps(e::kLn2Hi), z);  // -z - n·ln2_hi
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(e::kLn2Lo), r);
  const __m512 exp_neg_z = _mm512_scalef_ps(horner(e::kE, r), n);
  const __m512 q = horner(e::kQ, _mm512_fmadd_ps(xc, _mm512_set1_ps(e::kQScale), _mm512_set1_ps(e::kQShift)));
  const __m512 large = _mm512_fnmadd_ps(exp_neg_z, q, _mm512_set1_ps(1.0f));
  const __m512 erf_x = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(e::kSplit), _CMP_LT_OQ), large, small);
  return _mm512_mul_ps(_mm512_fmadd_ps(abs_v, erf_x, v), _mm512_set1_ps(0.5f));
}

// Rows × (Vectors · 16) of the tile: Rows < kRows at the M edge, Vectors < kVectors at the N edge.
template <int Rows, int Vectors>
INTERNVL_TARGET_AVX512 void kernel(const MicroTile& t) {
  __m512 acc[Rows][Vectors];
#pragma GCC unroll 8
  for (int i = 0; i < Rows; ++i) {
#pragma GCC unroll 8
    for (int v = 0; v < Vectors; ++v) {
      acc[i][v] = _mm512_setzero_ps();
    }
  }
  const float* a = t.a;
  const float* b = t.b;
  for (index_t k = 0; k < t.kc; ++k) {
    __m512 bv[Vectors];
#pragma GCC unroll 8
    for (int v = 0; v < Vectors; ++v) {
      bv[v] = _mm512_load_ps(b + 16 * v);
    }
#pragma GCC unroll 8
    for (int i = 0; i < Rows; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
#pragma GCC unroll 8
      for (int v = 0; v < Vectors; ++v) {
        acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
      }
    }
    a += kRows;
    b += kCols;
    if ((k & 7) == 7) {
      const index_t slot = k >> 3;
      if (slot < Rows) {  // this tile's C row, needed by the epilogue
        for (int v = 0; v < Vectors; v += 1) {
          _mm_prefetch(reinterpret_cast<const char*>(t.c + slot * t.ldc + 16 * v), _MM_HINT_T0);
        }
      }
      if (slot < t.prefetch_lines) {
        for (int r = 0; r < t.prefetch_rows; ++r) {
          _mm_prefetch(reinterpret_cast<const char*>(t.prefetch + r * t.prefetch_stride + slot * 64), _MM_HINT_T1);
        }
      }
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < Rows; ++i) {
    float* c = t.c + i * t.ldc;
#pragma GCC unroll 8
    for (int v = 0; v < Vectors; ++v) {
      __m512 x = acc[i][v];
      if (t.accumulate) {
        x = _mm512_add_ps(x, _mm512_loadu_ps(c + 16 * v));
      }
      if (t.bias != nullptr) {
        x = _mm512_add_ps(x, _mm512_loadu_ps(t.bias + 16 * v));
      }
      if (t.gelu) {
        x = gelu(x);
      }
      _mm512_storeu_ps(c + 16 * v, x);
    }
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

template <int Rows, int... V>
constexpr std::array<MicroKernel, kMaxTileVectors> row_of_kernels(std::integer_sequence<int, V...>) {
  return {&kernel<Rows, V + 1>...};
}

template <int... R>
constexpr KernelTable kernel_table(std::integer_sequence<int, R...>) {
  return {row_of_kernels<R + 1>(std::make_integer_sequence<int, kVectors>{})...};
}

inline constexpr KernelSet kKernels{.mr = kRows,
                                    .nr = kCols,
                                    .lanes = 16,
                                    .kc = 384,
                                    .nc = 240,
                                    .kernels = kernel_table(std::make_integer_sequence<int, kRows>{})};

}  // namespace internvl::cpu::packed::avx512
