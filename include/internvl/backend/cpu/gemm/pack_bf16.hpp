// Packing for the GEMM's bf16 path (layouts in blocking.hpp): operands rounded to bf16 (round to
// nearest even, vcvtneps2bf16) and laid out as pairs of consecutive k, the 32-bit word that one lane
// of vdpbf16ps takes, by 8 × 8 transposes of 32-bit words in registers (PackA / PackB):
//   pack_a_panel_bf16:     A rows [rows][kc] f32 (row stride lda)                -> [kc/2][mr] pairs
//   pack_b_panel_bf16<T>:  B rows [cols][kc] f32 / bf16 / f16 (row stride ldb)   -> [kc/2][nr] pairs
//                          (bf16 weights are moved as they are: a pair is already one 32-bit word)
// Rows past `rows`, columns past `cols`, and the k past an odd kc are zero. Nothing reads past the
// end of a source row (the last 16 values of a row are loaded with a mask).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "internvl/backend/cpu/gemm/pack.hpp"
#include "internvl/backend/cpu/isa.hpp"
#include "internvl/core/dtype.hpp"

// GCC 12 reports the _mm512_undefined_ps() inside _mm512_cvtph_ps as uninitialized where it is
// inlined (GCC bug 105593); every lane is overwritten.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace internvl::cpu::packed {

namespace detail {

// Values [0, n) of p (n <= 16; the rest read as 0) as 8 bf16 pairs, in the bits of a __m256.
template <class T>
INTERNVL_TARGET_AVX512_BF16 inline __m256 load16_as_pairs(const T* p, index_t n) {
  const auto lanes = static_cast<__mmask16>(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
  if constexpr (std::is_same_v<T, bf16>) {
    return _mm256_castsi256_ps(_mm256_maskz_loadu_epi16(lanes, p));
  } else {
    __m512 wide;
    if constexpr (std::is_same_v<T, float>) {
      wide = _mm512_maskz_loadu_ps(lanes, p);
    } else {
      wide = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(lanes, p));
    }
    const __m256bh pairs = _mm512_cvtneps_pbh(wide);
    __m256 bits;
    static_assert(sizeof(bits) == sizeof(pairs));
    __builtin_memcpy(&bits, &pairs, sizeof(bits));
    return bits;
  }
}

// Rows row[0..7] (nullptr: a zero row), k [0, kc), as [kc/2][8] pairs at dst, pair rows `ld` words
// apart: 16 values of each row at a time, one 8 × 8 transpose of words.
template <class T>
INTERNVL_TARGET_AVX512_BF16 inline void pack_8_rows_bf16(const T* const (&row)[8], index_t kc, std::uint32_t* dst,
                                                         index_t ld) {
  const index_t pairs = (kc + 1) / 2;
  for (index_t k = 0; k < kc; k += 16) {
    __m256 r[8];
    for (int i = 0; i < 8; ++i) {
      r[i] = row[i] != nullptr ? load16_as_pairs(row[i] + k, kc - k) : _mm256_setzero_ps();
    }
    transpose8x8(r);  // r[t]: pair k/2 + t of the 8 rows
    const index_t p0 = k / 2;
    const index_t count = std::min<index_t>(8, pairs - p0);
    for (index_t t = 0; t < count; ++t) {
      _mm256_storeu_ps(reinterpret_cast<float*>(dst + (p0 + t) * ld), r[t]);
    }
  }
}

}  // namespace detail

// mr is a multiple of 8.
INTERNVL_TARGET_AVX512_BF16 inline void pack_a_panel_bf16(const float* a, index_t lda, int rows, index_t kc, int mr,
                                                          void* out) {
  auto* dst = static_cast<std::uint32_t*>(out);
  for (int i0 = 0; i0 < mr; i0 += 8) {
    const float* row[8];
    for (int i = 0; i < 8; ++i) {
      row[i] = i0 + i < rows ? a + (i0 + i) * lda : nullptr;
    }
    detail::pack_8_rows_bf16(row, kc, dst + i0, mr);
  }
}

// nr is a multiple of 8.
template <class T>
INTERNVL_TARGET_AVX512_BF16 void pack_b_panel_bf16(const void* source, index_t ldb, index_t cols, index_t kc, int nr,
                                                   void* out) {
  const T* b = static_cast<const T*>(source);
  auto* dst = static_cast<std::uint32_t*>(out);
  for (int j0 = 0; j0 < nr; j0 += 8) {
    const T* row[8];
    for (int j = 0; j < 8; ++j) {
      row[j] = j0 + j < cols ? b + (j0 + j) * ldb : nullptr;
    }
    detail::pack_8_rows_bf16(row, kc, dst + j0, nr);
  }
}

}  // namespace internvl::cpu::packed

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
