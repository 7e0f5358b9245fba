// One row's RMSNorm or LayerNorm on the cpu backend, split into the row's statistics (over all n
// values) and the elementwise map that applies them to any span of the row:
//   RMSNorm:    y = w · (x · r),                     r = 1/sqrt(Σx²/n + eps)
//   LayerNorm:  y = (x − m₁ − δ) · r · w + b,        m₁ a first f32 estimate of the mean, δ = Σd/n and
//                                                    r = 1/sqrt(Σd²/n − δ² + eps) over d = x − m₁
// LayerNorm uses the corrected two-pass moments of moments.hpp (its squares summed with compensation),
// so a large common offset in the row costs no accuracy. The ops rms_norm and layer_norm map whole
// rows; the GEMM normalizes A's rows span by span while it packs them (gemm/macro_kernel.hpp), with
// the same arithmetic, so both give the same bits.
#pragma once

#include <cmath>

#include "internvl/backend/cpu/compensated_sum.hpp"
#include "internvl/backend/cpu/map_rows.hpp"
#include "internvl/backend/cpu/moments.hpp"
#include "internvl/backend/cpu/simd.hpp"

namespace internvl::cpu {

// Which norm and its parameters, for rows of n values.
struct RowNorm {
  bool layer_norm = false;        // LayerNorm (mean removed, weight and bias) or RMSNorm (weight)
  const float* weight = nullptr;  // [n]
  const float* bias = nullptr;    // [n] for LayerNorm
  float eps = 0.0f;
};

// What a row's span needs of the whole row: m₁ and δ (LayerNorm only) and r.
struct RowStats {
  float shift = 0.0f;
  float shift_to_mean = 0.0f;
  float inv_std = 0.0f;
};

inline RowStats rms_norm_stats(const float* x, index_t n, float eps) {
  VecF acc0(0.0f), acc1(0.0f);
  index_t j = 0;
  for (; j + 2 * kLanes <= n; j += 2 * kLanes) {
    const VecF a = load(x + j);
    const VecF b = load(x + j + kLanes);
    acc0 = xsimd::fma(a, a, acc0);
    acc1 = xsimd::fma(b, b, acc1);
  }
  float sum_sq = reduce_sum(acc0 + acc1);
  for (; j < n; ++j) {
    sum_sq += x[j] * x[j];
  }
  return {.inv_std = 1.0f / std::sqrt(sum_sq / static_cast<float>(n) + eps)};
}

inline RowStats layer_norm_stats(const float* x, index_t n, float eps) {
  const index_t body = n / kLanes * kLanes;  // the rest, n − body < kLanes, goes through padded vectors
  const index_t tail = n - body;

  // (1) first estimate of the mean
  VecF sum0(0.0f), sum1(0.0f);
  index_t j = 0;
  for (; j + 2 * kLanes <= body; j += 2 * kLanes) {
    sum0 += load(x + j);
    sum1 += load(x + j + kLanes);
  }
  for (; j < body; j += kLanes) {
    sum0 += load(x + j);
  }
  sum0 += load_tail(x + body, tail);
  const float shift_value = reduce_sum(sum0 + sum1) / static_cast<float>(n);
  const VecF shift(shift_value);

  // (2) deviations from it (padding lanes hold the shift itself: deviation 0); the squares are
  // summed with compensation, as a long row's plain f32 sum of squares would drift by ~√n ulp
  VecF sum_d0(0.0f), sum_d1(0.0f);
  CompensatedSum sum_dd0, sum_dd1;
  for (j = 0; j + 2 * kLanes <= body; j += 2 * kLanes) {
    const VecF d0 = load(x + j) - shift;
    const VecF d1 = load(x + j + kLanes) - shift;
    sum_d0 += d0;
    sum_d1 += d1;
    sum_dd0.add(d0 * d0);
    sum_dd1.add(d1 * d1);
  }
  for (; j < body; j += kLanes) {
    const VecF d = load(x + j) - shift;
    sum_d0 += d;
    sum_dd0.add(d * d);
  }
  const VecF d_tail = load_tail(x + body, tail, shift_value) - shift;
  sum_d0 += d_tail;
  sum_dd0.add(d_tail * d_tail);
  const Moments m =
      finish_moments(VecF(reduce_sum(sum_d0 + sum_d1)), VecF(reduce_sum(sum_dd0.total() + sum_dd1.total())), n, eps);
  return {.shift = shift_value, .shift_to_mean = m.shift_to_mean.get(0), .inv_std = m.inv_std.get(0)};
}

inline RowStats row_stats(const RowNorm& norm, const float* x, index_t n) {
  return norm.layer_norm ? layer_norm_stats(x, n, norm.eps) : rms_norm_stats(x, n, norm.eps);
}

// y[0, count) = the normalized values of x[begin, begin + count) of a row with statistics s.
inline void normalize_span(const RowNorm& norm, const RowStats& s, float* y, const float* x, index_t begin,
                           index_t count) {
  const VecF inv_std(s.inv_std);
  if (norm.layer_norm) {
    const VecF shift(s.shift), shift_to_mean(s.shift_to_mean);
    map_span(
        y, count,
        [&](const VecF& xv, const VecF& wv, const VecF& bv) {
          return xsimd::fma((xv - shift - shift_to_mean) * inv_std, wv, bv);
        },
        x + begin, norm.weight + begin, norm.bias + begin);
  } else {
    map_span(
        y, count, [&](const VecF& xv, const VecF& wv) { return wv * (xv * inv_std); }, x + begin, norm.weight + begin);
  }
}

// y = Norm(x) for one row of n values.
inline void normalize_row(const RowNorm& norm, float* y, const float* x, index_t n) {
  normalize_span(norm, row_stats(norm, x, n), y, x, 0, n);
}

}  // namespace internvl::cpu
