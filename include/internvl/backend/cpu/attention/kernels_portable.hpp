// The attention micro-kernels in xsimd at the build's baseline ISA (AVX2 + FMA by default): the
// kernel set for CPUs without AVX-512, and the same interface as kernels_avx512.hpp (see there
// and flash.hpp for the equations). Head-dim tails of in-place rows (direct path) run in scalar code.
// The loops mirror kernels_avx512.hpp's but cannot share its bodies: those carry the avx512f target,
// which this set, the one for CPUs without it, must not; xsimd's batch is fixed to the baseline.
#pragma once

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

#include "internvl/backend/cpu/attention/online_softmax.hpp"
#include "internvl/backend/cpu/attention/packing.hpp"
#include "internvl/backend/cpu/attention/plan.hpp"
#include "internvl/backend/cpu/simd.hpp"

namespace internvl::cpu::attention {

namespace portable {

// The largest lane of v.
inline float reduce_max(const VecF& v) {
  alignas(64) float lanes[kLanes];
  v.store_aligned(lanes);
  return *std::max_element(lanes, lanes + kLanes);
}

// Lanes whose column c + lane lies in [0, visible).
inline VecF::batch_bool_type first_lanes(index_t c, index_t visible) {
  alignas(64) static constexpr float kLaneIndex[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  static_assert(kLanes <= 16);
  return VecF::load_aligned(kLaneIndex) < VecF(static_cast<float>(visible - c));
}

// 2^x for x <= 0, as kernels_avx512.hpp's exp2_nonpositive: P(f) of online_softmax.hpp on
// f = x − floor(x), times 2^floor(x) built from its exponent bits. x is clamped at -127, whose
// exponent bits are those of 0: -inf (a hidden key) and x below -126 give exactly 0, as vscalefps's
// underflow does on the AVX-512 path.
inline VecF exp2_nonpositive(VecF x) {
  x = xsimd::max(x, VecF(-127.0f));
  const VecF n = xsimd::floor(x);
  const VecF f = x - n;
  constexpr int kDegree = std::size(kExp2Fraction) - 1;
  VecF p(kExp2Fraction[kDegree]);
  for (int k = kDegree - 1; k >= 0; --k) {
    p = xsimd::fma(p, f, VecF(kExp2Fraction[k]));
  }
  const auto exponent_bits = (xsimd::to_int(n) + 127) << 23;
  return p * xsimd::bitwise_cast<VecF>(exponent_bits);
}

// acc[r][c] += a[r · a_stride] · b[c · kLanes + l]: one rank-1 step of either product (zmm_tile.hpp's
// rank1_update in xsimd), Vecs loads of b, then per row a broadcast and Vecs FMAs.
template <int Rows, int Vecs>
inline void rank1_update(VecF (&acc)[Rows][Vecs], const float* a, index_t a_stride, const float* b) {
  VecF row[Vecs];
  for (int c = 0; c < Vecs; ++c) {
    row[c] = load(b + c * kLanes);
  }
  for (int r = 0; r < Rows; ++r) {
    const VecF ar(a[r * a_stride]);
    for (int c = 0; c < Vecs; ++c) {
      acc[r][c] = xsimd::fma(ar, row[c], acc[r][c]);
    }
  }
}

// Output columns [0, Vecs · kLanes) of Rows rows (row stride `width`): o = α ⊙ o + P · V.
template <int Rows, int Vecs>
void accumulate_columns(const float* p, const float* v, index_t keys, float* o, index_t width, const float* alpha) {
  VecF acc[Rows][Vecs];
  for (int r = 0; r < Rows; ++r) {
    for (int c = 0; c < Vecs; ++c) {
      acc[r][c] = load(o + r * width + c * kLanes) * VecF(alpha[r]);
    }
  }
  for (index_t j = 0; j < keys; ++j) {
    rank1_update(acc, p + j, kKeyBlock, v + j * width);
  }
  for (int r = 0; r < Rows; ++r) {
    for (int c = 0; c < Vecs; ++c) {
      store(o + r * width + c * kLanes, acc[r][c]);
    }
  }
}

// One row's online-softmax step (PortableKernels::softmax_tile): P of the scores s (+ bias) to p, the
// row's state advanced; returns α. Lanes at or past `visible` are masked only in the vectors that
// hold some (the last visible one).
inline float softmax_row(const float* s, const float* bias, index_t visible, index_t cols, float& row_max,
                         float& row_sum, float* p) {
  const VecF neg_inf(-std::numeric_limits<float>::infinity());
  auto scores = [&](index_t c) { return bias != nullptr ? load(s + c) + load(bias + c) : load(s + c); };
  VecF vmax = neg_inf;
  for (index_t c = 0; c < visible; c += kLanes) {
    const VecF x = scores(c);
    vmax = xsimd::max(vmax, c + kLanes <= visible ? x : xsimd::select(first_lanes(c, visible), x, neg_inf));
  }
  const float new_max = std::max(row_max, reduce_max(vmax));
  if (new_max == -std::numeric_limits<float>::infinity()) {
    std::fill(p, p + round_up(cols, kLanes), 0.0f);
    return 1.0f;
  }
  VecF vsum(0.0f);
  for (index_t c = 0; c < cols; c += kLanes) {
    VecF pc(0.0f);
    if (c < visible) {
      pc = exp2_nonpositive(scores(c) - VecF(new_max));
      if (c + kLanes > visible) {
        pc = xsimd::select(first_lanes(c, visible), pc, VecF(0.0f));
      }
    }
    store(p + c, pc);
    vsum += pc;
  }
  return advance_row_state(row_max, row_sum, new_max, reduce_sum(vsum));
}

}  // namespace portable

struct PortableKernels : F32Packing {
  static constexpr index_t kLanes = cpu::kLanes;
  static constexpr index_t kTileRows = 6;  // 6 × 2 accumulators fit 16 AVX2 registers
  static constexpr index_t kPanelKeys = 2 * kLanes;

  static void pack_key_panels(const float* k, index_t k_stride, index_t keys, index_t head_dim, index_t depth,
                              float* kp) {
    pack_key_panels_scalar<kPanelKeys>(k, k_stride, keys, head_dim, depth, kp);
  }

  template <int Vecs>
  static void scores_packed(const float* qp, const float* kp, index_t depth, float* s) {
    VecF acc[kTileRows][Vecs];
    for (int r = 0; r < kTileRows; ++r) {
      for (int c = 0; c < Vecs; ++c) {
        acc[r][c] = VecF(0.0f);
      }
    }
    for (index_t d = 0; d < depth; d += kDepthStep) {
      const float* q_group = qp + d * kTileRows;
      // Not unrolled: 12 accumulators, 2 keys and a broadcast fill the 16 AVX2 registers already.
#pragma GCC unroll 1
      for (int e = 0; e < kDepthStep; ++e) {
        portable::rank1_update(acc, q_group + e, kDepthStep, kp + (d + e) * kPanelKeys);
      }
    }
    for (int r = 0; r < kTileRows; ++r) {
      for (int c = 0; c < Vecs; ++c) {
        store(s + r * kKeyBlock + c * kLanes, acc[r][c]);
      }
    }
  }

  template <int Rows>
  static void scores_direct(const float* q, index_t width, const float* k, index_t k_stride, index_t keys,
                            index_t head_dim, float* s) {
    const index_t vector_end = head_dim / kLanes * kLanes;
    for (index_t j = 0; j < keys; ++j) {
      if (j + kPrefetchRows < keys) {
        prefetch_row(k + (j + kPrefetchRows) * k_stride, head_dim);
      }
      const float* kj = k + j * k_stride;
      VecF acc[Rows];
      for (int r = 0; r < Rows; ++r) {
        acc[r] = VecF(0.0f);
      }
      for (index_t d = 0; d < vector_end; d += kLanes) {
        const VecF x = load(kj + d);
        for (int r = 0; r < Rows; ++r) {
          acc[r] = xsimd::fma(load(q + r * width + d), x, acc[r]);
        }
      }
      for (int r = 0; r < Rows; ++r) {
        float dot = reduce_sum(acc[r]);
        for (index_t d = vector_end; d < head_dim; ++d) {
          dot += q[r * width + d] * kj[d];
        }
        s[r * kKeyBlock + j] = dot;
      }
    }
  }

  template <int Rows>
  static void accumulate_direct(const float* p, const float* v, index_t v_stride, index_t keys, float* o, index_t width,
                                const float* alpha, index_t head_dim) {
    const index_t vector_end = head_dim / kLanes * kLanes;
    for (int r = 0; r < Rows; ++r) {
      for (index_t d = 0; d < head_dim; ++d) {
        o[r * width + d] *= alpha[r];
      }
    }
    for (index_t j = 0; j < keys; ++j) {
      if (j + kPrefetchRows < keys) {
        prefetch_row(v + (j + kPrefetchRows) * v_stride, head_dim);
      }
      const float* vj = v + j * v_stride;
      for (int r = 0; r < Rows; ++r) {
        const float pj = p[r * kKeyBlock + j];
        float* orow = o + r * width;
        for (index_t d = 0; d < vector_end; d += kLanes) {
          store(orow + d, xsimd::fma(VecF(pj), load(vj + d), load(orow + d)));
        }
        for (index_t d = vector_end; d < head_dim; ++d) {
          orow[d] += pj * vj[d];
        }
      }
    }
  }

  // The online-softmax step of a tile's rows over one key block (online_softmax.hpp), row by row:
  // row r sees columns [0, visible[r]) of s[r · kKeyBlock ..] (+ bias), P goes to p[r · kKeyBlock ..]
  // (0 past visible, up to cols rounded to whole vectors).
  template <int Rows>
  static void softmax_tile(const float* s, const float* bias, const index_t* visible, index_t cols, float* row_max,
                           float* row_sum, float* alpha, float* p) {
    for (int r = 0; r < Rows; ++r) {
      alpha[r] =
          portable::softmax_row(s + r * kKeyBlock, bias, visible[r], cols, row_max[r], row_sum[r], p + r * kKeyBlock);
    }
  }

  template <int Rows>
  static void accumulate(const float* p, const float* v, index_t keys, float* o, index_t width, const float* alpha) {
    for_column_blocks<kLanes>(width, [&]<int Vecs>(index_t d) {
      portable::accumulate_columns<Rows, Vecs>(p, v + d, keys, o + d, width, alpha);
    });
  }
};

}  // namespace internvl::cpu::attention
