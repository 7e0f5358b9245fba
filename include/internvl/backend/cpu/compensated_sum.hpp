// CompensatedSum: a lane-wise running sum that also accumulates the exact rounding error of each
// addition (Knuth's TwoSum), so the total is good to about 2 ulp however many terms it has (a plain
// f32 running sum of n positive terms drifts by about √n ulp: 1.4e-6 relative at n = 1600):
//   s' = s + v,   error = (s − (s' − v')) + (v − v'),  v' = s' − s,   lost += error
// total = s + lost. Unlike Kahan's form, the loop-carried chains are one addition long, so the
// kernels that use it stay memory-bound. The build does not reassociate floating point (no
// -ffast-math), which this relies on.
#pragma once

#include "internvl/backend/cpu/simd.hpp"

namespace internvl::cpu {

struct CompensatedSum {
  VecF sum = VecF(0.0f);
  VecF lost = VecF(0.0f);  // the sum of the rounding errors of the additions so far

  // Once the sum is infinite (or NaN) the error term would be ∞ − ∞ = NaN: it is left out, so that the
  // total is the sum's ±∞ as a plain sum gives it.
  void add(const VecF& v) {
    const VecF next = sum + v;
    const VecF v_added = next - sum;
    const VecF error = (sum - (next - v_added)) + (v - v_added);
    lost += xsimd::select(xsimd::isfinite(next), error, VecF(0.0f));
    sum = next;
  }

  // Adds another compensated sum (its total and its own lost part).
  void merge(const CompensatedSum& other) {
    add(other.sum);
    lost += other.lost;
  }

  VecF total() const { return sum + lost; }
};

}  // namespace internvl::cpu
