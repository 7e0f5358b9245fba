// A tile of f32 accumulators in AVX-512 registers, acc[Rows][Vecs] (Rows rows × Vecs vectors of 16
// lanes), and the steps the GEMM (gemm/kernel_avx512*.hpp) and attention (attention/kernels_avx512*.hpp)
// microkernels are made of (l < 16 a lane; rows of memory `stride` floats apart):
//   zero          acc = 0
//   load_scaled   acc[r][c] = alpha[r] · o[r · stride + 16c + l]           (a running output, rescaled)
//   rank1_update  acc[r][c] += a[r · a_stride] · b[16c + l]                (f32, one k)
//   pair_update   acc[r][c] += Σ_e a[r · a_stride][e] · b[16c + l][e]  e < 2   (bf16 pairs of k, vdpbf16ps)
//   store         o[r · stride + 16c + l] = acc[r][c]
// Their targets (avx512f; avx512f + avx512bf16) are subsets of the kernels' own, which inline them.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "internvl/core/tensor_view.hpp"

namespace internvl::cpu::zmm_tile {

template <int Rows, int Vecs>
[[gnu::target("avx512f"), gnu::always_inline]] inline void zero(__m512 (&acc)[Rows][Vecs]) {
#pragma GCC unroll 16
  for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 4
    for (int c = 0; c < Vecs; ++c) {
      acc[r][c] = _mm512_setzero_ps();
    }
  }
}

template <int Rows, int Vecs>
[[gnu::target("avx512f"), gnu::always_inline]] inline void load_scaled(__m512 (&acc)[Rows][Vecs], const float* o,
                                                                       index_t stride, const float* alpha) {
#pragma GCC unroll 16
  for (int r = 0; r < Rows; ++r) {
    const __m512 a = _mm512_set1_ps(alpha[r]);
#pragma GCC unroll 4
    for (int c = 0; c < Vecs; ++c) {
      acc[r][c] = _mm512_mul_ps(_mm512_loadu_ps(o + r * stride + 16 * c), a);
    }
  }
}

template <int Rows, int Vecs>
[[gnu::target("avx512f"), gnu::always_inline]] inline void store(const __m512 (&acc)[Rows][Vecs], float* o,
                                                                 index_t stride) {
#pragma GCC unroll 16
  for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 4
    for (int c = 0; c < Vecs; ++c) {
      _mm512_storeu_ps(o + r * stride + 16 * c, acc[r][c]);
    }
  }
}

// Vecs loads of b, then per row a broadcast of a and Vecs FMAs.
template <int Rows, int Vecs>
[[gnu::target("avx512f"), gnu::always_inline]] inline void rank1_update(__m512 (&acc)[Rows][Vecs], const float* a,
                                                                        index_t a_stride, const float* b) {
  __m512 row[Vecs];
#pragma GCC unroll 4
  for (int c = 0; c < Vecs; ++c) {
    row[c] = _mm512_loadu_ps(b + 16 * c);
  }
#pragma GCC unroll 16
  for (int r = 0; r < Rows; ++r) {
    const __m512 ar = _mm512_set1_ps(a[r * a_stride]);
#pragma GCC unroll 4
    for (int c = 0; c < Vecs; ++c) {
      acc[r][c] = _mm512_fmadd_ps(ar, row[c], acc[r][c]);
    }
  }
}

// The same over bf16 pairs (one 32-bit word each): Vecs loads of b, per row a broadcast and Vecs vdpbf16ps.
template <int Rows, int Vecs>
[[gnu::target("avx512f,avx512bf16"), gnu::always_inline]] inline void pair_update(__m512 (&acc)[Rows][Vecs],
                                                                                  const std::int32_t* a,
                                                                                  index_t a_stride,
                                                                                  const std::int32_t* b) {
  __m512bh row[Vecs];
#pragma GCC unroll 4
  for (int c = 0; c < Vecs; ++c) {
    row[c] = (__m512bh)_mm512_loadu_si512(b + 16 * c);
  }
#pragma GCC unroll 16
  for (int r = 0; r < Rows; ++r) {
    const auto ar = (__m512bh)_mm512_set1_epi32(a[r * a_stride]);
#pragma GCC unroll 4
    for (int c = 0; c < Vecs; ++c) {
      acc[r][c] = _mm512_dpbf16_ps(acc[r][c], ar, row[c]);
    }
  }
}

}  // namespace internvl::cpu::zmm_tile
