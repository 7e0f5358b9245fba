// CompensatedSum: a lane-wise running sum with Kahan compensation. Each addition's rounding error
// is carried into the next one, so the total is good to about 2 ulp however many terms it has
// (a plain f32 running sum of n positive terms drifts by about √n ulp: 1.4e-6 relative at n = 1600).
//   carry ← ((sum + (v − carry)) − sum) − (v − carry),   sum ← sum + (v − carry)
// The build does not reassociate floating point (no -ffast-math), which this relies on.
#pragma once

#include "internvl/backend/cpu/simd.hpp"

namespace internvl::cpu {

struct CompensatedSum {
  VecF sum = VecF(0.0f);
  VecF carry = VecF(0.0f);  // minus the low-order part lost so far

  void add(const VecF& v) {
    const VecF corrected = v - carry;
    const VecF next = sum + corrected;
    carry = (next - sum) - corrected;
    sum = next;
  }

  VecF total() const { return sum - carry; }
};

}  // namespace internvl::cpu
