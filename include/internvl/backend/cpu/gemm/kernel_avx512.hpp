// AVX-512 microkernel: an 8 × 48 tile of C in 24 zmm accumulators (8 rows × 3 vectors of 16).
// Per k (zmm_tile.hpp's rank1_update): 3 loads of the packed B panel, 8 broadcasts from the packed
// A panel, 24 FMAs; 24 independent accumulators cover the FMA latency, so the loop is bound by the
// FMA pipes.
// Every 8 k-steps it prefetches a line of the tile's C and of the next B block's source rows
// (prefetch_slot, blocking.hpp). Epilogue on the registers (MicroTile's): + bias, ⊙ scale, + C (later
// K blocks, or the residual), GELU, then plain stores (store_tile, shared with kernel_avx512_bf16.hpp).
// Tiles of fewer rows or vectors are separate instantiations: no wasted FMAs at the M and N edges.
// horner, gelu and the kernel mirror kernel_avx2.hpp's in zmm intrinsics: a target attribute cannot
// depend on a template parameter, so one template cannot serve both paths.
#pragma once

#include <immintrin.h>

#include "internvl/backend/cpu/gemm/blocking.hpp"
#include "internvl/backend/cpu/gemm/gelu.hpp"
#include "internvl/backend/cpu/gemm/pack.hpp"
#include "internvl/backend/cpu/isa.hpp"
#include "internvl/backend/cpu/zmm_tile.hpp"

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

// The epilogue of blocking.hpp's MicroTile on the accumulators, then plain stores to C. Shared by
// the f32 and bf16 kernels (inlined into both).
template <int Rows, int Vectors>
INTERNVL_TARGET_AVX512 __attribute__((always_inline)) inline void store_tile(__m512 (&acc)[Rows][Vectors],
                                                                             const MicroTile& t) {
#pragma GCC unroll 8
  for (int i = 0; i < Rows; ++i) {
    float* c = t.c + i * t.ldc;
#pragma GCC unroll 8
    for (int v = 0; v < Vectors; ++v) {
      __m512 x = acc[i][v];
      if (t.bias != nullptr) {
        x = _mm512_add_ps(x, _mm512_loadu_ps(t.bias + 16 * v));
      }
      if (t.scale != nullptr) {
        x = _mm512_mul_ps(x, _mm512_loadu_ps(t.scale + 16 * v));
      }
      if (t.accumulate) {
        x = _mm512_add_ps(x, _mm512_loadu_ps(c + 16 * v));
      }
      if (t.gelu) {
        x = gelu(x);
      }
      _mm512_storeu_ps(c + 16 * v, x);
    }
  }
}

// Rows × (Vectors · 16) of the tile: Rows < kRows at the M edge, Vectors < kVectors at the N edge.
template <int Rows, int Vectors>
INTERNVL_TARGET_AVX512 void kernel(const MicroTile& t) {
  __m512 acc[Rows][Vectors];
  zmm_tile::zero(acc);
  const float* a = static_cast<const float*>(t.a);
  const float* b = static_cast<const float*>(t.b);
  for (index_t k = 0; k < t.kc; ++k) {
    zmm_tile::rank1_update(acc, a, 1, b);
    a += kRows;
    b += kCols;
    if ((k & 7) == 7) {
      prefetch_slot<Rows, 16 * Vectors>(t, k >> 3);
    }
  }
  store_tile(acc, t);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

inline constexpr KernelTable kTable = kernel_table<kRows, kVectors>([]<int R, int V>() { return &kernel<R, V>; });

inline constexpr KernelSet kKernels{.name = "avx512",
                                    .mr = kRows,
                                    .nr = kCols,
                                    .lanes = 16,
                                    .kc = 384,
                                    .nc = 240,
                                    .k_step = 1,
                                    .element_bytes = 4,
                                    .pack_a = &pack_a_panel,
                                    .pack_b = {&pack_b_panel<float>, &pack_b_panel<bf16>, &pack_b_panel<f16>},
                                    .kernels = kTable};

}  // namespace internvl::cpu::packed::avx512
