// The attention micro-kernels with bf16 products (AVX512-BF16 vdpbf16ps, f32 accumulation), for a
// context in bf16 precision on a CPU that has them (backend/cpu/precision.hpp). The packed path's two
// products take operands rounded to bf16, laid out as pairs (the 32-bit word one vdpbf16ps lane
// multiplies); softmax, the running max / sum / rescale, the accumulators and the direct path (a
// few queries, memory-bound) are the f32 kernels of kernels_avx512.hpp. Layouts (bf16 elements):
//   query tiles  qp[(d/2)·2R + 2r + d%2]                  = bf16(factor · Q[first + r][d])   R rows
//   key panels   kp[p·32·depth + (d/2)·64 + 2c + d%2]     = bf16(K[32p + c][d])             32 keys
//   values       vp[(j/2)·2·width + 2d + j%2]             = bf16(V[j][d])             pairs of keys
//   P            pp[r·kKeyBlock + j]                      = bf16(P[r][j]), written by softmax_tile
// Element offsets are those of the f32 layouts (flash.hpp computes them the same way); padding
// (dimensions past Dh, keys past the last, rows past the last query) is zero. The products' steps are
// zmm_tile.hpp's pair_update; these bodies stay apart from the f32 ones because vdpbf16ps needs the
// avx512bf16 target, which the f32 kernels (run on AVX-512 CPUs without BF16) must not carry.
#pragma once

#if defined(INTERNVL_ATTENTION_AVX512)

#include <immintrin.h>

#include <cstdint>

#include "internvl/backend/cpu/attention/kernels_avx512.hpp"
#include "internvl/backend/cpu/isa.hpp"

namespace internvl::cpu::attention {

namespace avx512_bf16 {

// 32 values (the first n of them; the rest read as 0) of p, scaled, as 16 bf16 pairs.
INTERNVL_TARGET_AVX512_BF16 inline __m512i load32_as_pairs(const float* p, index_t n, float factor) {
  const __m512 f = _mm512_set1_ps(factor);
  const __m512 lo = _mm512_mul_ps(_mm512_maskz_loadu_ps(avx512::first_lanes(n), p), f);
  const __m512 hi = _mm512_mul_ps(_mm512_maskz_loadu_ps(avx512::first_lanes(n - 16), p + 16), f);
  return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

// Output columns [0, 16 · Vecs) of Rows rows (row stride `width`): o = α ⊙ o + P · V over `pairs`
// pairs of keys; p holds each row's pairs (kKeyBlock / 2 words apart), v the values' pairs.
template <int Rows, int Vecs>
INTERNVL_TARGET_AVX512_BF16 inline void accumulate_columns(const std::int32_t* p, const std::int32_t* v, index_t pairs,
                                                           float* o, index_t width, const float* alpha) {
  __m512 acc[Rows][Vecs];
  zmm_tile::load_scaled(acc, o, width, alpha);
  for (index_t j = 0; j < pairs; ++j) {
    zmm_tile::pair_update(acc, p + j, kKeyBlock / 2, v + j * width);
  }
  zmm_tile::store(acc, o, width);
}

}  // namespace avx512_bf16

struct Avx512Bf16Kernels : Avx512Kernels {
  using Packed = std::uint16_t;  // bf16 bits

  // Rows `first ..` of head h of q, times factor, as tiles of TileRows rows of depth/2 pairs.
  template <index_t TileRows>
  INTERNVL_TARGET_AVX512_BF16 static void pack_query_tiles(const CView<float, 4>& q, index_t b, index_t h,
                                                           index_t first, index_t rows, float factor, index_t depth,
                                                           Packed* qp) {
    const index_t head_dim = q.size(3);
    for (index_t i = 0; i < round_up(rows, TileRows); ++i) {
      auto* tile_row = reinterpret_cast<std::int32_t*>(qp + (i / TileRows) * depth * TileRows) + i % TileRows;
      if (i + kPrefetchRows < rows) {
        prefetch_row(row_of(q, b, first + i + kPrefetchRows, h), head_dim);
      }
      const float* row = i < rows ? row_of(q, b, first + i, h) : nullptr;
      for (index_t d = 0; d < depth; d += 32) {
        alignas(64) std::int32_t words[16];
        _mm512_store_si512(words, row != nullptr ? avx512_bf16::load32_as_pairs(row + d, head_dim - d, factor)
                                                 : _mm512_setzero_si512());
        for (index_t w = 0; w < std::min<index_t>(16, (depth - d) / 2); ++w) {
          tile_row[(d / 2 + w) * TileRows] = words[w];
        }
      }
    }
  }

  // All `keys` rows of one head as panels of 32 keys: 16 keys × 32 dimensions (16 pairs) at a
  // time, a 16 × 16 transpose of words.
  INTERNVL_TARGET_AVX512_BF16 static void pack_key_panels(const float* k, index_t k_stride, index_t keys,
                                                          index_t head_dim, index_t depth, Packed* kp) {
    for (index_t j0 = 0; j0 < round_up(keys, kPanelKeys); j0 += 16) {
      Packed* panel = kp + (j0 / kPanelKeys) * depth * kPanelKeys + 2 * (j0 % kPanelKeys);
      for (index_t j = j0 + 16; j < std::min(j0 + 32, keys); ++j) {
        prefetch_row(k + j * k_stride, head_dim);
      }
      for (index_t d0 = 0; d0 < depth; d0 += 32) {
        __m512 block[16];
        for (int i = 0; i < 16; ++i) {
          block[i] =
              j0 + i < keys
                  ? _mm512_castsi512_ps(avx512_bf16::load32_as_pairs(k + (j0 + i) * k_stride + d0, head_dim - d0, 1.0f))
                  : _mm512_setzero_ps();
        }
        avx512::transpose_16x16(block);  // block[w]: pair d0/2 + w of the 16 keys
        for (index_t w = 0; w < std::min<index_t>(16, (depth - d0) / 2); ++w) {
          _mm512_storeu_ps(reinterpret_cast<float*>(panel + (d0 / 2 + w) * 2 * kPanelKeys), block[w]);
        }
      }
    }
  }

  // All `keys` rows of head h of v as pairs of keys, `width` dimensions each (the last pair of an
  // odd count pads with a zero key).
  INTERNVL_TARGET_AVX512_BF16 static void pack_values(const CView<float, 4>& v, index_t b, index_t h, index_t keys,
                                                      index_t width, Packed* vp) {
    const index_t head_dim = v.size(3);
    for (index_t j = 0; j < keys; j += 2) {
      if (j + kPrefetchRows < keys) {
        prefetch_row(row_of(v, b, j + kPrefetchRows, h), head_dim);
        prefetch_row(row_of(v, b, std::min(j + kPrefetchRows + 1, keys - 1), h), head_dim);
      }
      const float* even = row_of(v, b, j, h);
      const float* odd = j + 1 < keys ? row_of(v, b, j + 1, h) : nullptr;
      Packed* out = vp + j * width;
      for (index_t d = 0; d < width; d += 16) {
        const __mmask16 dims = avx512::first_lanes(head_dim - d);
        const __m256i e = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(dims, even + d));
        const __m256i o =
            odd != nullptr ? (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(dims, odd + d)) : _mm256_setzero_si256();
        const __m256i lo = _mm256_unpacklo_epi16(e, o);  // dims 0-3 and 8-11
        const __m256i hi = _mm256_unpackhi_epi16(e, o);  // dims 4-7 and 12-15
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 2 * d), _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 2 * d + 16), _mm256_permute2x128_si256(lo, hi, 0x31));
      }
    }
  }

  // s[r · kKeyBlock + c] = Σ_d Q[r][d] · K[c][d] for r < 12, c < 16 · Vecs, over a query tile and a
  // key panel: per pair of dimensions, Vecs loads of 16 keys' pairs, 12 broadcasts, 12 · Vecs vdpbf16ps.
  template <int Vecs>
  INTERNVL_TARGET_AVX512_BF16 static void scores_packed(const Packed* qp, const Packed* kp, index_t depth, float* s) {
    const auto* q = reinterpret_cast<const std::int32_t*>(qp);
    const auto* k = reinterpret_cast<const std::int32_t*>(kp);
    __m512 acc[kTileRows][Vecs];
    zmm_tile::zero(acc);
    for (index_t w = 0; w < depth / 2; ++w) {
      zmm_tile::pair_update(acc, q + w * kTileRows, 1, k + w * kPanelKeys);
    }
    zmm_tile::store(acc, s, kKeyBlock);
  }

  using Avx512Kernels::softmax_tile;  // f32 probabilities, for the direct path

  // The online-softmax step of a tile's rows (avx512::softmax_tile), P written as bf16 for the
  // products: element (r, c) at p[r · RowStride + (c / 32) · ChunkStride + c % 32], zero past each
  // row's visible keys up to a whole 32.
  template <int Rows, index_t RowStride, index_t ChunkStride>
  INTERNVL_TARGET_AVX512_BF16 static void softmax_tile_bf16(const float* s, const float* bias, const index_t* visible,
                                                            index_t cols, float* row_max, float* row_sum, float* alpha,
                                                            Packed* p) {
    avx512::softmax_tile<Rows>(s, bias, visible, cols, row_max, row_sum, alpha,
                               [&](index_t r, index_t c, __m512 lo, __m512 hi) INTERNVL_TARGET_AVX512_BF16 {
                                 _mm512_storeu_si512(p + r * RowStride + c / 32 * ChunkStride,
                                                     (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
                               });
  }

  // P as rows of kKeyBlock bf16, i.e. each row's pairs of keys, the words accumulate multiplies.
  template <int Rows>
  INTERNVL_TARGET_AVX512_BF16 static void softmax_tile(const float* s, const float* bias, const index_t* visible,
                                                       index_t cols, float* row_max, float* row_sum, float* alpha,
                                                       Packed* p) {
    softmax_tile_bf16<Rows, kKeyBlock, 32>(s, bias, visible, cols, row_max, row_sum, alpha, p);
  }

  // o[r · width + d] = alpha[r] · o[..] + Σ_{j < keys} P[r][j] · V[j][d] for r < Rows, d < width, with
  // P as softmax_tile wrote it (pairs of keys, a zero after an odd last key).
  template <int Rows>
  INTERNVL_TARGET_AVX512_BF16 static void accumulate(const Packed* p, const Packed* vp, index_t keys, float* o,
                                                     index_t width, const float* alpha) {
    const auto* pairs = reinterpret_cast<const std::int32_t*>(p);
    const auto* v = reinterpret_cast<const std::int32_t*>(vp);
    const index_t key_pairs = (keys + 1) / 2;
    // The lambda carries the target too, so that accumulate_columns may be inlined into it.
    for_column_blocks<kLanes>(width, [&]<int Vecs>(index_t d) INTERNVL_TARGET_AVX512_BF16 {
      avx512_bf16::accumulate_columns<Rows, Vecs>(pairs, v + d, key_pairs, o + d, width, alpha);
    });
  }
};

}  // namespace internvl::cpu::attention

#endif
