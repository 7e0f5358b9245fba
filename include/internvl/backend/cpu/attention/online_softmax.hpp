// The online-softmax state of one query row, as every kernel set's softmax_row advances it (flash.hpp):
//   m = running max of the row's scores (log2 units),  l = running Σ 2^(s − m).
// A key block whose visible scores have max m_b, giving m' = max(m, m_b) and l_b = Σ 2^(s − m') over
// its keys, moves the state to  m ← m',  l ← α · l + l_b  with  α = 2^(m − m'),  the factor that also
// rescales the row's output accumulated so far. A row that has seen no key keeps m = −∞ and l = 0.
#pragma once

#include <cmath>

namespace internvl::cpu::attention {

// The Taylor coefficients (ln 2)^k / k! of 2^f = Σ (f ln 2)^k / k!, k = 1 .. 6, which every kernel
// set's 2^x for x <= 0 evaluates on the fraction |f| <= 1/2 of x (relative error < 2e-7).
namespace exp2_taylor {
inline constexpr double kLn2 = 0.6931471805599453;
inline constexpr double d1 = kLn2, d2 = d1 * kLn2 / 2, d3 = d2 * kLn2 / 3, d4 = d3 * kLn2 / 4, d5 = d4 * kLn2 / 5,
                        d6 = d5 * kLn2 / 6;
inline constexpr float c1 = static_cast<float>(d1), c2 = static_cast<float>(d2), c3 = static_cast<float>(d3),
                       c4 = static_cast<float>(d4), c5 = static_cast<float>(d5), c6 = static_cast<float>(d6);
}  // namespace exp2_taylor

// Advances (row_max, row_sum) past a key block with new max m' = new_max and sum l_b = block_sum; returns α.
inline float advance_row_state(float& row_max, float& row_sum, float new_max, float block_sum) {
  const float alpha = std::exp2(row_max - new_max);
  row_sum = row_sum * alpha + block_sum;
  row_max = new_max;
  return alpha;
}

}  // namespace internvl::cpu::attention
