// The online-softmax state of one query row, as every kernel set's softmax_tile advances it (flash.hpp):
//   m = running max of the row's scores (log2 units),  l = running Σ 2^(s − m).
// A key block whose visible scores have max m_b, giving m' = max(m, m_b) and l_b = Σ 2^(s − m') over
// its keys, moves the state to  m ← m',  l ← α · l + l_b  with  α = 2^(m − m'),  the factor that also
// rescales the row's output accumulated so far. A row that has seen no key keeps m = −∞ and l = 0.
#pragma once

#include <cmath>

namespace internvl::cpu::attention {

// 2^x = 2^floor(x) · P(f) with f = x − floor(x) in [0, 1], as every kernel set's 2^x for x <= 0
// evaluates it: P of degree 5 with P(0) = 1 exactly (a row's max gives 1, an unmoved max α = 1), a
// near-minimax fit of the relative error made by scripts/fit_exp2.py (8.3e-8; 1.6e-7 by Horner's
// rule in f32 with these rounded coefficients), c0 first.
inline constexpr float kExp2Fraction[] = {1.000000000e+00f, 6.931512952e-01f, 2.401644886e-01f,
                                          5.579975992e-02f, 9.017247707e-03f, 1.867026673e-03f};

// Advances (row_max, row_sum) past a key block with new max m' = new_max and sum l_b = block_sum; returns α.
inline float advance_row_state(float& row_max, float& row_sum, float new_max, float block_sum) {
  const float alpha = std::exp2(row_max - new_max);
  row_sum = row_sum * alpha + block_sum;
  row_max = new_max;
  return alpha;
}

}  // namespace internvl::cpu::attention
