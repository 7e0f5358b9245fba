// The attention micro-kernels in AVX-512 (16 f32 lanes, 32 registers), chosen at run time on the
// AVX-512 paths (isa.hpp: F, BW, VL and DQ). Every function that touches an intrinsic carries the
// target attribute (GCC cannot inline an intrinsic into a function compiled for a lesser ISA). The
// interface is the one flash.hpp expects of a kernel set; kernels_portable.hpp is the same in xsimd
// at the baseline.
// The packed path's operands come packed (packing.hpp): contiguous, rows zero-padded to whole
// vectors; the direct path reads K and V rows where they are, masking the head-dim tail. The packed
// path's two products are register tiles of zmm_tile.hpp (a rank1_update per dimension or per key).
//   scores_packed:  S[12 × 32] = Qp · Kp over Dh      (12 queries × 2 vectors of keys in registers;
//                   one vector of keys for a short last panel)
//   scores_direct:  S[r][j] = q_r · k_j               (few queries: dot products along Dh, K in place)
//   softmax_tile:   online-softmax step of a tile's rows, P = 2^(S − max) (f32 here, bf16 for the
//                   bf16 products), the rows' max, sum and rescale updated one row per lane
//   accumulate:     O[R × Dh] = α ⊙ O + P[R × keys] · V[keys × Dh]   (R × 2 vectors of Dh in registers)
//   accumulate_direct: the same for a few queries, V rows read in place
//   pack_key_panels: K rows into key panels, 16 × 16 blocks transposed in registers
//   (pack_values and pack_query_tiles are packing.hpp's f32 copies, F32Packing)
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define INTERNVL_ATTENTION_AVX512 1

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

#include "internvl/backend/cpu/attention/online_softmax.hpp"
#include "internvl/backend/cpu/attention/packing.hpp"
#include "internvl/backend/cpu/attention/plan.hpp"
#include "internvl/backend/cpu/zmm_tile.hpp"

// GCC 12's AVX-512 headers trip its own -Wuninitialized (_mm512_undefined_ps; GCC bug 105593).
#pragma GCC diagnostic push
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace internvl::cpu::attention {

namespace avx512 {

// Lanes [0, n) of a 16-lane vector.
[[gnu::target("avx512f")]] inline __mmask16 first_lanes(index_t n) {
  return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : static_cast<__mmask16>((1u << n) - 1u);
}

// The direct path reads its K or V rows in groups of kDirectGroup<Rows> at once (Rows queries): 8
// for one or two queries, else 4, that many rows streaming from memory and FMA chains per query.
template <int Rows>
inline constexpr int kDirectGroup = Rows <= 2 ? 8 : 4;

// rows[g] = x + min(j + g, count − 1) · stride for g < Group: the group of rows starting at row j of
// `count` (past the last, the last again; the kernels ignore or zero-weight those).
template <int Group>
inline void row_group(const float* x, index_t stride, index_t j, index_t count, const float* (&rows)[Group]) {
  for (int g = 0; g < Group; ++g) {
    rows[g] = x + std::min(j + g, count - 1) * stride;
  }
}

// x[g] = rows[g][d .. d + 15], the lanes at or past head_dim zero.
template <int Group>
[[gnu::target("avx512f"), gnu::always_inline]] inline void load_group(const float* const (&rows)[Group], index_t d,
                                                                      index_t head_dim, __m512 (&x)[Group]) {
  const __mmask16 dims = first_lanes(head_dim - d);
  for (int g = 0; g < Group; ++g) {
    x[g] = _mm512_maskz_loadu_ps(dims, rows[g] + d);
  }
}

// 2^x for x <= 0 (online_softmax.hpp): f = x − floor(x) by vreduceps, P(f) by Horner's rule, times
// 2^floor(x) by vscalefps, which floors its exponent operand itself and gives 0 once that underflows.
// −∞ (a hidden key) gives f = 0 and 2^−∞ = 0, so no clamp is needed; NaN gives NaN.
[[gnu::target("avx512f,avx512dq"), gnu::always_inline]] inline __m512 exp2_nonpositive(__m512 x) {
  const __m512 f = _mm512_reduce_ps(x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  constexpr int kDegree = std::size(kExp2Fraction) - 1;
  __m512 p = _mm512_set1_ps(kExp2Fraction[kDegree]);
  for (int k = kDegree - 1; k >= 0; --k) {
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kExp2Fraction[k]));
  }
  return _mm512_scalef_ps(p, x);
}

// Transposes the 16 × 16 block held by r (row i in r[i]) in place: afterwards r[c] holds column c.
// Four rounds of two-input shuffles: 32-bit pairs, 64-bit pairs, then 128-bit quarters twice.
[[gnu::target("avx512f"), gnu::always_inline]] inline void transpose_16x16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  // Now t[2i] holds, per 128-bit quarter L, rows 2i, 2i+1 at columns 4L, 4L+1; t[2i+1] columns 4L+2, 4L+3.
  for (int i = 0; i < 16; i += 4) {
    const __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
    const __m512d c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  // Now quarter L of r[4i + m] holds column 4L + m of rows 4i .. 4i+3: gather the quarters.
  for (int m = 0; m < 4; ++m) {
    t[m] = _mm512_shuffle_f32x4(r[m], r[4 + m], 0x88);      // quarters 0, 2 of each
    t[4 + m] = _mm512_shuffle_f32x4(r[m], r[4 + m], 0xDD);  // quarters 1, 3 of each
    t[8 + m] = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0x88);
    t[12 + m] = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0xDD);
  }
  for (int m = 0; m < 4; ++m) {
    r[m] = _mm512_shuffle_f32x4(t[m], t[8 + m], 0x88);
    r[4 + m] = _mm512_shuffle_f32x4(t[4 + m], t[12 + m], 0x88);
    r[8 + m] = _mm512_shuffle_f32x4(t[m], t[8 + m], 0xDD);
    r[12 + m] = _mm512_shuffle_f32x4(t[4 + m], t[12 + m], 0xDD);
  }
}

// The two reductions of reduce_rows.
struct Max {
  [[gnu::target("avx512f")]] __m512 operator()(__m512 a, __m512 b) const { return _mm512_max_ps(a, b); }
};
struct Add {
  [[gnu::target("avx512f")]] __m512 operator()(__m512 a, __m512 b) const { return _mm512_add_ps(a, b); }
};

// Lane i of the result = op over the 16 lanes of v[i], for i < Rows <= 16 (lanes past Rows: op over
// `identity`). Four rounds, each halving the lanes every vector still has to reduce while doubling
// the vectors one register carries: 256-bit halves, 128-bit quarters, then pairs and single lanes
// within the quarters, 15 ops and 30 shuffles in all. The rounds leave input k + 4j in lane 4k + j,
// so the vectors enter in that transposed order.
template <int Rows, class Op>
[[gnu::target("avx512f"), gnu::always_inline]] inline __m512 reduce_rows(const __m512 (&v)[Rows], __m512 identity,
                                                                         Op op) {
  static_assert(Rows >= 1 && Rows <= 16);
  __m512 x[16];
  for (int slot = 0; slot < 16; ++slot) {
    const int row = 4 * (slot % 4) + slot / 4;
    x[slot] = row < Rows ? v[row] : identity;
  }
  __m512 halves[8];  // [x[2i] over 8 lanes | x[2i+1] over 8 lanes]
  for (int i = 0; i < 8; ++i) {
    halves[i] =
        op(_mm512_shuffle_f32x4(x[2 * i], x[2 * i + 1], 0x44), _mm512_shuffle_f32x4(x[2 * i], x[2 * i + 1], 0xEE));
  }
  __m512 quarters[4];  // quarter k: x[4i + k] over 4 lanes
  for (int i = 0; i < 4; ++i) {
    const __m512 a = halves[2 * i], b = halves[2 * i + 1];
    quarters[i] = op(_mm512_shuffle_f32x4(a, b, 0x88), _mm512_shuffle_f32x4(a, b, 0xDD));
  }
  __m512 pairs[2];  // quarter k: x[8i + k] over 2 lanes, then x[8i + 4 + k] over 2 lanes
  for (int i = 0; i < 2; ++i) {
    const __m512 a = quarters[2 * i], b = quarters[2 * i + 1];
    pairs[i] = op(_mm512_shuffle_ps(a, b, _MM_SHUFFLE(1, 0, 1, 0)), _mm512_shuffle_ps(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
  }
  return op(_mm512_shuffle_ps(pairs[0], pairs[1], _MM_SHUFFLE(2, 0, 2, 0)),
            _mm512_shuffle_ps(pairs[0], pairs[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

// The online-softmax step (online_softmax.hpp) of a tile's Rows rows over one key block: row r's
// scores are s[r · kKeyBlock + c] (+ bias[c]) for c < visible[r], the columns past it hidden. Writes
// P = 2^(S − m'), 0 where hidden, through write(r, c, P[c .. c+15], P[c+16 .. c+31]) for c < cols in
// steps of 32, and updates row_max, row_sum and alpha (α = 2^(m − m')) for the Rows rows at once,
// one row per lane. Rows <= 16.
template <int Rows, class Write>
[[gnu::target("avx512f,avx512dq"), gnu::always_inline]] inline void softmax_tile(const float* s, const float* bias,
                                                                                 const index_t* visible, index_t cols,
                                                                                 float* row_max, float* row_sum,
                                                                                 float* alpha, Write&& write) {
  const __m512 neg_inf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  auto scores = [&](index_t r, index_t c, __mmask16 seen) __attribute__((target("avx512f"))) {
    const __m512 x = _mm512_maskz_loadu_ps(seen, s + r * kKeyBlock + c);
    return bias != nullptr ? _mm512_add_ps(x, _mm512_maskz_loadu_ps(seen, bias + c)) : x;
  };
  __m512 block_max[Rows];
  for (int r = 0; r < Rows; ++r) {  // two chains of maxima per row, kept in locals, not in the array
    __m512 m[2] = {neg_inf, neg_inf};
    for (index_t c = 0; c < visible[r]; c += 32) {
      for (int half = 0; half < 2; ++half) {
        const __mmask16 seen = first_lanes(visible[r] - c - 16 * half);
        m[half] = _mm512_mask_max_ps(m[half], seen, m[half], scores(r, c + 16 * half, seen));
      }
    }
    block_max[r] = _mm512_max_ps(m[0], m[1]);
  }
  const __mmask16 rows = first_lanes(Rows);
  const __m512 old_max = _mm512_maskz_loadu_ps(rows, row_max);
  const __m512 new_max = _mm512_max_ps(old_max, reduce_rows(block_max, neg_inf, Max{}));
  // A row that has seen no key yet keeps m' = −∞ but is shifted by 0: its hidden scores give
  // 2^(−∞ − 0) = 0 where −∞ − −∞ would give NaN, and α = 2^(−∞) = 0 leaves its zero state so.
  const __m512 shift =
      _mm512_mask_blend_ps(_mm512_cmp_ps_mask(new_max, neg_inf, _CMP_EQ_OQ), new_max, _mm512_setzero_ps());
  const __m512 rescale = exp2_nonpositive(_mm512_sub_ps(old_max, shift));

  __m512 block_sum[Rows];
  for (int r = 0; r < Rows; ++r) {
    const __m512 row_shift = _mm512_permutexvar_ps(_mm512_set1_epi32(r), shift);
    __m512 sum = _mm512_setzero_ps();
    for (index_t c = 0; c < cols; c += 32) {
      __m512 p[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
      if (c < visible[r]) {
        for (int half = 0; half < 2; ++half) {
          const __mmask16 seen = first_lanes(visible[r] - c - 16 * half);
          p[half] =
              _mm512_maskz_mov_ps(seen, exp2_nonpositive(_mm512_sub_ps(scores(r, c + 16 * half, seen), row_shift)));
        }
        sum = _mm512_add_ps(sum, _mm512_add_ps(p[0], p[1]));
      }
      write(r, c, p[0], p[1]);
    }
    block_sum[r] = sum;
  }
  const __m512 new_sum = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(rows, row_sum), rescale,
                                         reduce_rows(block_sum, _mm512_setzero_ps(), Add{}));
  _mm512_mask_storeu_ps(row_max, rows, new_max);
  _mm512_mask_storeu_ps(row_sum, rows, new_sum);
  _mm512_mask_storeu_ps(alpha, rows, rescale);
}

// Output columns [0, 16 · Vecs) of Rows rows (row stride `width`): o = α ⊙ o + P · V over `keys` rows of V.
template <int Rows, int Vecs>
[[gnu::target("avx512f")]] inline void accumulate_columns(const float* p, const float* v, index_t keys, float* o,
                                                          index_t width, const float* alpha) {
  __m512 acc[Rows][Vecs];
  zmm_tile::load_scaled(acc, o, width, alpha);
  for (index_t j = 0; j < keys; ++j) {
    zmm_tile::rank1_update(acc, p + j, kKeyBlock, v + j * width);
  }
  zmm_tile::store(acc, o, width);
}

}  // namespace avx512

struct Avx512Kernels : F32Packing {
  static constexpr index_t kLanes = 16;
  static constexpr index_t kTileRows = 12;  // 12 × 2 accumulators + 2 loaded vectors of 32 registers
  static constexpr index_t kPanelKeys = 32;

  // All `keys` rows of one head (k points at key 0, rows k_stride apart) as key panels
  // (packing.hpp), 16 keys × 16 dimensions at a time through a register transpose.
  [[gnu::target("avx512f")]] static void pack_key_panels(const float* k, index_t k_stride, index_t keys,
                                                         index_t head_dim, index_t depth, float* kp) {
    for (index_t j0 = 0; j0 < round_up(keys, kPanelKeys); j0 += 16) {
      float* panel = kp + (j0 / kPanelKeys) * depth * kPanelKeys + j0 % kPanelKeys;
      for (index_t j = j0 + 16; j < std::min(j0 + 32, keys); ++j) {
        prefetch_row(k + j * k_stride, head_dim);
      }
      for (index_t d0 = 0; d0 < depth; d0 += 16) {
        const __mmask16 dims = avx512::first_lanes(head_dim - d0);
        __m512 block[16];
        for (int i = 0; i < 16; ++i) {
          block[i] = j0 + i < keys ? _mm512_maskz_loadu_ps(dims, k + (j0 + i) * k_stride + d0) : _mm512_setzero_ps();
        }
        avx512::transpose_16x16(block);
        for (index_t i = 0; i < std::min<index_t>(16, depth - d0); ++i) {
          _mm512_storeu_ps(panel + (d0 + i) * kPanelKeys, block[i]);
        }
      }
    }
  }

  // s[r · kKeyBlock + c] = Σ_d Q[r][d] · kp[d · 32 + c]  for r < 12, c < 16 · Vecs, over a query
  // tile and a key panel (packing.hpp). Vecs = 1: the first half of a panel, for a last block of
  // at most 16 keys.
  template <int Vecs>
  [[gnu::target("avx512f")]] static void scores_packed(const float* qp, const float* kp, index_t depth, float* s) {
    __m512 acc[kTileRows][Vecs];
    zmm_tile::zero(acc);
    for (index_t d = 0; d < depth; d += kDepthStep) {
      const float* q_group = qp + d * kTileRows;
#pragma GCC unroll 4
      for (int e = 0; e < kDepthStep; ++e) {
        zmm_tile::rank1_update(acc, q_group + e, kDepthStep, kp + (d + e) * kPanelKeys);
      }
    }
    zmm_tile::store(acc, s, kKeyBlock);
  }

  // s[r · kKeyBlock + j] = Σ_{d < head_dim} q[r · width + d] · k[j · k_stride + d]  for r < Rows,
  // j < keys: the direct path's scores, K rows read in place (q rows are packed, zero-padded to
  // width). Four keys at a time: four rows streaming from memory at once, four FMA chains per query.
  template <int Rows>
  [[gnu::target("avx512f")]] static void scores_direct(const float* q, index_t width, const float* k, index_t k_stride,
                                                       index_t keys, index_t head_dim, float* s) {
    constexpr int kKeys = avx512::kDirectGroup<Rows>;
    for (index_t j = 0; j < keys; j += kKeys) {
      const float* rows[kKeys];
      avx512::row_group(k, k_stride, j, keys, rows);  // keys past the end: scores not stored
      __m512 acc[Rows][kKeys];
      for (int r = 0; r < Rows; ++r) {
        for (int g = 0; g < kKeys; ++g) {
          acc[r][g] = _mm512_setzero_ps();
        }
      }
      for (index_t d = 0; d < head_dim; d += 16) {
        __m512 x[kKeys];
        avx512::load_group(rows, d, head_dim, x);
        for (int r = 0; r < Rows; ++r) {
          const __m512 qr = _mm512_loadu_ps(q + r * width + d);
          for (int g = 0; g < kKeys; ++g) {
            acc[r][g] = _mm512_fmadd_ps(qr, x[g], acc[r][g]);
          }
        }
      }
      for (int r = 0; r < Rows; ++r) {
        for (int g = 0; g < kKeys && j + g < keys; ++g) {
          s[r * kKeyBlock + j + g] = _mm512_reduce_add_ps(acc[r][g]);
        }
      }
    }
  }

  // o[r · width + d] = alpha[r] · o[..] + Σ_{j < keys} p[r · kKeyBlock + j] · v[j · v_stride + d] for
  // r < Rows, d < head_dim: the direct path's P · V, V rows read in place once each, four at a
  // time, into the few output rows kept in L1.
  template <int Rows>
  [[gnu::target("avx512f")]] static void accumulate_direct(const float* p, const float* v, index_t v_stride,
                                                           index_t keys, float* o, index_t width, const float* alpha,
                                                           index_t head_dim) {
    constexpr int kKeys = avx512::kDirectGroup<Rows>;
    for (int r = 0; r < Rows; ++r) {
      const __m512 a = _mm512_set1_ps(alpha[r]);
      for (index_t d = 0; d < width; d += 16) {
        _mm512_storeu_ps(o + r * width + d, _mm512_mul_ps(_mm512_loadu_ps(o + r * width + d), a));
      }
    }
    for (index_t j = 0; j < keys; j += kKeys) {
      const float* rows[kKeys];
      avx512::row_group(v, v_stride, j, keys, rows);  // rows past the end: weight 0
      __m512 pj[Rows][kKeys];
      for (int g = 0; g < kKeys; ++g) {
        for (int r = 0; r < Rows; ++r) {
          pj[r][g] = _mm512_set1_ps(j + g < keys ? p[r * kKeyBlock + j + g] : 0.0f);
        }
      }
      for (index_t d = 0; d < head_dim; d += 16) {
        __m512 x[kKeys];
        avx512::load_group(rows, d, head_dim, x);
        for (int r = 0; r < Rows; ++r) {
          float* od = o + r * width + d;
          __m512 sum = _mm512_loadu_ps(od);
          for (int g = 0; g < kKeys; ++g) {
            sum = _mm512_fmadd_ps(pj[r][g], x[g], sum);
          }
          _mm512_storeu_ps(od, sum);
        }
      }
    }
  }

  // The online-softmax step of a tile's rows over one key block, P written as f32 rows kKeyBlock
  // apart (avx512::softmax_tile).
  template <int Rows>
  [[gnu::target("avx512f,avx512dq")]] static void softmax_tile(const float* s, const float* bias,
                                                               const index_t* visible, index_t cols, float* row_max,
                                                               float* row_sum, float* alpha, float* p) {
    avx512::softmax_tile<Rows>(
        s, bias, visible, cols, row_max, row_sum,
        alpha, [&](index_t r, index_t c, __m512 lo, __m512 hi) __attribute__((target("avx512f"))) {
          _mm512_storeu_ps(p + r * kKeyBlock + c, lo);
          _mm512_storeu_ps(p + r * kKeyBlock + c + 16, hi);
        });
  }

  // o[r · width + d] = alpha[r] · o[..] + Σ_{j < keys} p[r · kKeyBlock + j] · v[j · width + d]
  // for r < Rows, d < width (a multiple of 16).
  template <int Rows>
  [[gnu::target("avx512f")]] static void accumulate(const float* p, const float* v, index_t keys, float* o,
                                                    index_t width, const float* alpha) {
    // The lambda carries the target too, so that accumulate_columns may be inlined into it.
    for_column_blocks<kLanes>(
        width, [&]<int Vecs>(index_t d) __attribute__((target("avx512f"))) {
          avx512::accumulate_columns<Rows, Vecs>(p, v + d, keys, o + d, width, alpha);
        });
  }
};

}  // namespace internvl::cpu::attention

#pragma GCC diagnostic pop

#endif
