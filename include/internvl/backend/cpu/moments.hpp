// The mean and normaliser of n values from their deviations d = x − shift, where shift is any value
// near the mean (the norms use a first f32 estimate of it): the corrected two-pass algorithm,
//   μ = shift + Σd/n,   σ² = Σd²/n − (Σd/n)²,   inv_std = 1/sqrt(σ² + eps).
// The deviations are small, so no large common offset of the values enters the sums, and the
// normalised value is computed as (x − shift − Σd/n) · inv_std. Lane-wise: each lane is one set of values.
#pragma once

#include "internvl/backend/cpu/simd.hpp"

namespace internvl::cpu {

struct Moments {
  VecF shift_to_mean;  // μ − shift
  VecF inv_std;        // 1/sqrt(σ² + eps)
};

inline Moments finish_moments(const VecF& sum_d, const VecF& sum_d2, index_t n, float eps) {
  const VecF count(static_cast<float>(n));
  const VecF offset = sum_d / count;
  const VecF variance = xsimd::max(sum_d2 / count - offset * offset, VecF(0.0f));  // >= 0 up to rounding
  return {offset, VecF(1.0f) / xsimd::sqrt(variance + VecF(eps))};
}

}  // namespace internvl::cpu
