// The attention micro-kernels in AVX-512 (16 f32 lanes, 32 registers), chosen at run time when
// the CPU has AVX-512F. Every function that touches an intrinsic carries the target attribute
// (GCC cannot inline an intrinsic into a function compiled for a lesser ISA). The interface is the
// one flash.hpp expects of a kernel set; kernels_portable.hpp is the same in xsimd at the baseline.
// The packed path's operands come packed (packing.hpp): contiguous, rows zero-padded to whole
// vectors; the direct path reads K and V rows where they are, masking the head-dim tail.
//   scores_packed:  S[12 × 32] = Qp · Kp over Dh      (12 queries × 2 vectors of keys in registers;
//                   one vector of keys for a short last panel)
//   scores_direct:  S[r][j] = q_r · k_j               (few queries: dot products along Dh, K in place)
//   softmax_row:    online-softmax step of one row, P = 2^(S − max) in place, returns the rescale
//   accumulate:     O[R × Dh] = α ⊙ O + P[R × keys] · V[keys × Dh]   (R × 2 vectors of Dh in registers)
//   accumulate_direct: the same for a few queries, V rows read in place
//   pack_key_panels: K rows into key panels, 16 × 16 blocks transposed in registers
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define INTERNVL_ATTENTION_AVX512 1

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "internvl/backend/cpu/attention/packing.hpp"
#include "internvl/backend/cpu/attention/plan.hpp"

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

// 2^x for x <= 0: x = n + f with n = round(x), |f| <= 1/2; 2^f by its Taylor polynomial
// Σ (f ln2)^k / k! to degree 6 (relative error < 2e-7), then scaled by 2^n with vscalefps, which
// gives 0 once 2^n underflows. x is clamped at -200 so that -inf (a hidden key) gives 0, not NaN.
[[gnu::target("avx512f"), gnu::always_inline]] inline __m512 exp2_nonpositive(__m512 x) {
  constexpr double kLn2 = 0.6931471805599453;
  constexpr double c1 = kLn2, c2 = c1 * kLn2 / 2, c3 = c2 * kLn2 / 3, c4 = c3 * kLn2 / 4, c5 = c4 * kLn2 / 5,
                   c6 = c5 * kLn2 / 6;
  x = _mm512_max_ps(x, _mm512_set1_ps(-200.0f));
  const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(x, n);
  __m512 p = _mm512_set1_ps(static_cast<float>(c6));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(static_cast<float>(c5)));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(static_cast<float>(c4)));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(static_cast<float>(c3)));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(static_cast<float>(c2)));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(static_cast<float>(c1)));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
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

// Output columns [0, 16 · Vecs) of Rows rows (row stride `width`): o = α ⊙ o + P · V over `keys` rows of V.
template <int Rows, int Vecs>
[[gnu::target("avx512f")]] inline void accumulate_columns(const float* p, const float* v, index_t keys, float* o,
                                                          index_t width, const float* alpha) {
  __m512 acc[Rows][Vecs];
#pragma GCC unroll 16
  for (int r = 0; r < Rows; ++r) {
    const __m512 a = _mm512_set1_ps(alpha[r]);
#pragma GCC unroll 2
    for (int c = 0; c < Vecs; ++c) {
      acc[r][c] = _mm512_mul_ps(_mm512_loadu_ps(o + r * width + 16 * c), a);
    }
  }
  for (index_t j = 0; j < keys; ++j) {
    __m512 vals[Vecs];
#pragma GCC unroll 2
    for (int c = 0; c < Vecs; ++c) {
      vals[c] = _mm512_loadu_ps(v + j * width + 16 * c);
    }
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) {
      const __m512 pj = _mm512_set1_ps(p[r * kKeyBlock + j]);
#pragma GCC unroll 2
      for (int c = 0; c < Vecs; ++c) {
        acc[r][c] = _mm512_fmadd_ps(pj, vals[c], acc[r][c]);
      }
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 2
    for (int c = 0; c < Vecs; ++c) {
      _mm512_storeu_ps(o + r * width + 16 * c, acc[r][c]);
    }
  }
}

}  // namespace avx512

struct Avx512Kernels {
  static constexpr index_t kLanes = 16;
  static constexpr index_t kTileRows = 12;  // 12 × 2 accumulators + 2 loaded vectors of 32 registers
  static constexpr index_t kPanelKeys = 32;

  static bool available() { return __builtin_cpu_supports("avx512f"); }

  // The packed path's element type and its copies of V rows and Q tiles (packing.hpp).
  using Packed = float;
  static void pack_values(const CView<float, 4>& v, index_t b, index_t h, index_t keys, index_t width, float* vp) {
    pack_rows(v, b, h, 0, keys, 1.0f, width, vp);
  }
  template <index_t TileRows>
  static void pack_query_tiles(const CView<float, 4>& q, index_t b, index_t h, index_t first, index_t rows,
                               float factor, index_t depth, float* qp) {
    attention::pack_query_tiles<TileRows>(q, b, h, first, rows, factor, depth, qp);
  }

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
#pragma GCC unroll 12
    for (int r = 0; r < kTileRows; ++r) {
#pragma GCC unroll 2
      for (int c = 0; c < Vecs; ++c) {
        acc[r][c] = _mm512_setzero_ps();
      }
    }
    for (index_t d = 0; d < depth; d += kDepthStep) {
      const float* q_group = qp + d * kTileRows;
#pragma GCC unroll 4
      for (int e = 0; e < kDepthStep; ++e) {
        __m512 keys[Vecs];
#pragma GCC unroll 2
        for (int c = 0; c < Vecs; ++c) {
          keys[c] = _mm512_loadu_ps(kp + (d + e) * kPanelKeys + 16 * c);
        }
#pragma GCC unroll 12
        for (int r = 0; r < kTileRows; ++r) {
          const __m512 qr = _mm512_set1_ps(q_group[r * kDepthStep + e]);
#pragma GCC unroll 2
          for (int c = 0; c < Vecs; ++c) {
            acc[r][c] = _mm512_fmadd_ps(qr, keys[c], acc[r][c]);
          }
        }
      }
    }
#pragma GCC unroll 12
    for (int r = 0; r < kTileRows; ++r) {
#pragma GCC unroll 2
      for (int c = 0; c < Vecs; ++c) {
        _mm512_storeu_ps(s + r * kKeyBlock + 16 * c, acc[r][c]);
      }
    }
  }

  // s[r · kKeyBlock + j] = Σ_{d < head_dim} q[r · width + d] · k[j · k_stride + d]  for r < Rows,
  // j < keys: the direct path's scores, K rows read in place (q rows are packed, zero-padded to
  // width). Four keys at a time: four rows streaming from memory at once, four FMA chains per query.
  template <int Rows>
  [[gnu::target("avx512f")]] static void scores_direct(const float* q, index_t width, const float* k, index_t k_stride,
                                                       index_t keys, index_t head_dim, float* s) {
    constexpr int kKeys = Rows <= 2 ? 8 : 4;
    for (index_t j = 0; j < keys; j += kKeys) {
      const float* rows[kKeys];
      for (int g = 0; g < kKeys; ++g) {
        rows[g] = k + std::min(j + g, keys - 1) * k_stride;  // past the end: repeat the last key, unused
      }
      __m512 acc[Rows][kKeys];
      for (int r = 0; r < Rows; ++r) {
        for (int g = 0; g < kKeys; ++g) {
          acc[r][g] = _mm512_setzero_ps();
        }
      }
      for (index_t d = 0; d < head_dim; d += 16) {
        const __mmask16 dims = avx512::first_lanes(head_dim - d);
        __m512 x[kKeys];
        for (int g = 0; g < kKeys; ++g) {
          x[g] = _mm512_maskz_loadu_ps(dims, rows[g] + d);
        }
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
    constexpr int kKeys = Rows <= 2 ? 8 : 4;
    for (int r = 0; r < Rows; ++r) {
      const __m512 a = _mm512_set1_ps(alpha[r]);
      for (index_t d = 0; d < width; d += 16) {
        _mm512_storeu_ps(o + r * width + d, _mm512_mul_ps(_mm512_loadu_ps(o + r * width + d), a));
      }
    }
    for (index_t j = 0; j < keys; j += kKeys) {
      const float* rows[kKeys];
      __m512 pj[Rows][kKeys];
      for (int g = 0; g < kKeys; ++g) {
        rows[g] = v + std::min(j + g, keys - 1) * v_stride;  // past the end: the last row, with weight 0
        for (int r = 0; r < Rows; ++r) {
          pj[r][g] = _mm512_set1_ps(j + g < keys ? p[r * kKeyBlock + j + g] : 0.0f);
        }
      }
      for (index_t d = 0; d < head_dim; d += 16) {
        const __mmask16 dims = avx512::first_lanes(head_dim - d);
        __m512 x[kKeys];
        for (int g = 0; g < kKeys; ++g) {
          x[g] = _mm512_maskz_loadu_ps(dims, rows[g] + d);
        }
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

  // One row's online-softmax step over a key block; see flash.hpp for the equations. Scores are
  // in log2 units. Columns [0, visible) may be seen (bias, if given, hides more), columns
  // [visible, cols) are written as 0. Returns α = 2^(old max − new max) (1 when nothing is seen yet).
  [[gnu::target("avx512f")]] static float softmax_row(float* s, const float* bias, index_t visible, index_t cols,
                                                      float& row_max, float& row_sum) {
    constexpr float kNegInf = -std::numeric_limits<float>::infinity();
    __m512 vmax = _mm512_set1_ps(kNegInf);
    for (index_t c = 0; c < visible; c += 16) {
      const __mmask16 seen = avx512::first_lanes(visible - c);
      __m512 x = _mm512_maskz_loadu_ps(seen, s + c);
      if (bias != nullptr) {
        x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(seen, bias + c));
      }
      vmax = _mm512_mask_max_ps(vmax, seen, vmax, x);
    }
    const float new_max = std::max(row_max, _mm512_reduce_max_ps(vmax));
    if (new_max == kNegInf) {
      for (index_t c = 0; c < cols; c += 16) {
        _mm512_storeu_ps(s + c, _mm512_setzero_ps());
      }
      return 1.0f;
    }
    const __m512 shift = _mm512_set1_ps(new_max);
    __m512 vsum = _mm512_setzero_ps();
    for (index_t c = 0; c < cols; c += 16) {
      const __mmask16 seen = avx512::first_lanes(visible - c);
      __m512 x = _mm512_maskz_loadu_ps(seen, s + c);
      if (bias != nullptr) {
        x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(seen, bias + c));
      }
      const __m512 p = _mm512_maskz_mov_ps(seen, avx512::exp2_nonpositive(_mm512_sub_ps(x, shift)));
      _mm512_storeu_ps(s + c, p);
      vsum = _mm512_add_ps(vsum, p);
    }
    const float alpha = std::exp2(row_max - new_max);
    row_sum = row_sum * alpha + _mm512_reduce_add_ps(vsum);
    row_max = new_max;
    return alpha;
  }

  // o[r · width + d] = alpha[r] · o[..] + Σ_{j < keys} p[r · kKeyBlock + j] · v[j · width + d]
  // for r < Rows, d < width (a multiple of 16).
  template <int Rows>
  [[gnu::target("avx512f")]] static void accumulate(const float* p, const float* v, index_t keys, float* o,
                                                    index_t width, const float* alpha) {
    index_t d = 0;
    for (; d + 32 <= width; d += 32) {
      avx512::accumulate_columns<Rows, 2>(p, v + d, keys, o + d, width, alpha);
    }
    if (d < width) {
      avx512::accumulate_columns<Rows, 1>(p, v + d, keys, o + d, width, alpha);
    }
  }
};

}  // namespace internvl::cpu::attention

#pragma GCC diagnostic pop

#endif
