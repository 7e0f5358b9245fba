// Packing for the GEMM (layouts in blocking.hpp). AVX2 + F16C code shared by both paths (every
// AVX-512 CPU has AVX2), written as register transposes so that packing stays a small fraction of
// the multiply:
//   pack_a_panel:     A rows [rows][kc] (f32, row stride lda)  -> [kc][mr], 4 × 4 transposes
//   pack_b_panel<T>:  B rows [cols][kc] (f32 / bf16 / f16, row stride ldb) -> [kc][nr] f32, widened
//                     while packing (bf16: shift into the top half; f16: vcvtph2ps), 8 × 8 transposes
// Rows of A past `rows` and columns of B past `cols` are packed as zeros.
#pragma once

#include <immintrin.h>

#include "internvl/backend/cpu/isa.hpp"
#include "internvl/core/dtype.hpp"
#include "internvl/core/tensor_view.hpp"

namespace internvl::cpu::packed {

namespace detail {

// Eight consecutive elements widened to f32.
template <class T>
INTERNVL_TARGET_AVX2 inline __m256 load8_as_f32(const T* p) {
  if constexpr (std::is_same_v<T, float>) {
    return _mm256_loadu_ps(p);
  } else if constexpr (std::is_same_v<T, bf16>) {
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  } else {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
}

// r[i] holds row i of an 8 × 8 block; afterwards r[j] holds column j.
INTERNVL_TARGET_AVX2 inline void transpose8x8(__m256 (&r)[8]) {
  __m256 t[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  __m256 u[8];
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int j = 0; j < 4; ++j) {
    r[j] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x20);
    r[j + 4] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x31);
  }
}

}  // namespace detail

INTERNVL_TARGET_AVX2 inline void pack_a_panel(const float* a, index_t lda, int rows, index_t kc, int mr, float* dst) {
  for (int i0 = 0; i0 < mr; i0 += 4) {
    const float* row[4];
    for (int i = 0; i < 4; ++i) {
      row[i] = i0 + i < rows ? a + (i0 + i) * lda : nullptr;
    }
    index_t k = 0;
    for (; k + 4 <= kc; k += 4) {
      __m128 r[4];
      for (int i = 0; i < 4; ++i) {
        r[i] = row[i] != nullptr ? _mm_loadu_ps(row[i] + k) : _mm_setzero_ps();
      }
      _MM_TRANSPOSE4_PS(r[0], r[1], r[2], r[3]);
      for (int j = 0; j < 4; ++j) {
        _mm_storeu_ps(dst + (k + j) * mr + i0, r[j]);
      }
    }
    for (; k < kc; ++k) {
      for (int i = 0; i < 4; ++i) {
        dst[k * mr + i0 + i] = row[i] != nullptr ? row[i][k] : 0.0f;
      }
    }
  }
}

template <class T>
INTERNVL_TARGET_AVX2 void pack_b_panel(const T* b, index_t ldb, index_t cols, index_t kc, int nr, float* dst) {
  for (int j0 = 0; j0 < nr; j0 += 8) {
    const T* row[8];
    for (int j = 0; j < 8; ++j) {
      row[j] = j0 + j < cols ? b + (j0 + j) * ldb : nullptr;
    }
    index_t k = 0;
    for (; k + 8 <= kc; k += 8) {
      __m256 r[8];
      for (int j = 0; j < 8; ++j) {
        r[j] = row[j] != nullptr ? detail::load8_as_f32(row[j] + k) : _mm256_setzero_ps();
      }
      detail::transpose8x8(r);
      for (int t = 0; t < 8; ++t) {
        _mm256_store_ps(dst + (k + t) * nr + j0, r[t]);
      }
    }
    for (; k < kc; ++k) {
      for (int j = 0; j < 8; ++j) {
        dst[k * nr + j0 + j] = row[j] != nullptr ? to_float(row[j][k]) : 0.0f;
      }
    }
  }
}

}  // namespace internvl::cpu::packed
