// The attention micro-kernels in AVX-512 (16 f32 lanes, 32 registers), chosen at run time when
// the CPU has AVX-512F. Every function that touches an intrinsic carries the target attribute
// (GCC cannot inline an intrinsic into a function compiled for a lesser ISA). The interface is the
// one flash.hpp expects of a kernel set; kernels_portable.hpp is the same in xsimd at the baseline.
// Operands come packed by flash.hpp: contiguous, rows zero-padded to `width` (a multiple of 16).
//   scores_packed:  S[12 × 32] = Qp · Kp over Dh      (12 queries × 2 vectors of keys in registers)
//   scores_direct:  S[r][j] = q_r · k_j               (few queries, dot products along Dh)
//   softmax_row:    online-softmax step of one row, P = 2^(S − max) in place, returns the rescale
//   accumulate:     O[R × Dh] = α ⊙ O + P[R × keys] · V[keys × Dh]   (R × 2 vectors of Dh in registers)
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define INTERNVL_ATTENTION_AVX512 1

#include <immintrin.h>

#include <cmath>
#include <limits>

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
  static constexpr index_t kTileRows = 12;   // 12 × 2 accumulators + 2 loaded vectors of 32 registers
  static constexpr index_t kPanelKeys = 32;

  static bool available() { return __builtin_cpu_supports("avx512f"); }

  // s[r · kKeyBlock + c] = Σ_d qp[d · 12 + r] · kp[d · 32 + c]  for r < 12, c < 32.
  [[gnu::target("avx512f")]] static void scores_packed(const float* qp, const float* kp, index_t head_dim, float* s) {
    __m512 acc[kTileRows][2];
#pragma GCC unroll 12
    for (int r = 0; r < kTileRows; ++r) {
      acc[r][0] = _mm512_setzero_ps();
      acc[r][1] = _mm512_setzero_ps();
    }
    for (index_t d = 0; d < head_dim; ++d) {
      const __m512 k0 = _mm512_loadu_ps(kp + d * kPanelKeys);
      const __m512 k1 = _mm512_loadu_ps(kp + d * kPanelKeys + 16);
#pragma GCC unroll 12
      for (int r = 0; r < kTileRows; ++r) {
        const __m512 qr = _mm512_set1_ps(qp[d * kTileRows + r]);
        acc[r][0] = _mm512_fmadd_ps(qr, k0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(qr, k1, acc[r][1]);
      }
    }
#pragma GCC unroll 12
    for (int r = 0; r < kTileRows; ++r) {
      _mm512_storeu_ps(s + r * kKeyBlock, acc[r][0]);
      _mm512_storeu_ps(s + r * kKeyBlock + 16, acc[r][1]);
    }
  }

  // s[r · kKeyBlock + j] = Σ_d q[r · width + d] · k[j · width + d]  for r < Rows, j < keys.
  // Two keys at a time, so that two independent FMA chains hide the latency.
  template <int Rows>
  [[gnu::target("avx512f")]] static void scores_direct(const float* q, const float* k, index_t keys, index_t width,
                                                       float* s) {
    for (index_t j = 0; j < keys; j += 2) {
      const float* k0 = k + j * width;
      const float* k1 = j + 1 < keys ? k0 + width : k0;
      __m512 acc0[Rows], acc1[Rows];
      for (int r = 0; r < Rows; ++r) {
        acc0[r] = _mm512_setzero_ps();
        acc1[r] = _mm512_setzero_ps();
      }
      for (index_t d = 0; d < width; d += 16) {
        const __m512 x0 = _mm512_loadu_ps(k0 + d);
        const __m512 x1 = _mm512_loadu_ps(k1 + d);
        for (int r = 0; r < Rows; ++r) {
          const __m512 qr = _mm512_loadu_ps(q + r * width + d);
          acc0[r] = _mm512_fmadd_ps(qr, x0, acc0[r]);
          acc1[r] = _mm512_fmadd_ps(qr, x1, acc1[r]);
        }
      }
      for (int r = 0; r < Rows; ++r) {
        s[r * kKeyBlock + j] = _mm512_reduce_add_ps(acc0[r]);
        if (j + 1 < keys) {
          s[r * kKeyBlock + j + 1] = _mm512_reduce_add_ps(acc1[r]);
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
