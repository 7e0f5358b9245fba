// The vector vocabulary of the cpu backend's element-wise kernels: xsimd batches of the widest
// instruction set this translation unit was compiled for (the build's baseline, x86-64-v3 by
// default). Matrix kernels (GEMM, attention) do not use this: they dispatch on the instruction set
// present at run time (backend/cpu/isa.hpp).
#pragma once

#include <xsimd/xsimd.hpp>

#include <algorithm>

#include "internvl/core/tensor.hpp"

namespace internvl::cpu {

using VecF = xsimd::batch<float>;
inline constexpr index_t kLanes = static_cast<index_t>(VecF::size);

inline VecF load(const float* p) { return VecF::load_unaligned(p); }
inline void store(float* p, const VecF& v) { v.store_unaligned(p); }

// The first n (0 <= n <= kLanes) floats at p; the other lanes hold `fill`. Row tails go through the
// same vector code as the body this way, so every element sees identical arithmetic.
inline VecF load_tail(const float* p, index_t n, float fill = 0.0f) {
  alignas(kAlignment) float lanes[kLanes];
  std::fill_n(lanes, kLanes, fill);
  std::copy_n(p, n, lanes);
  return VecF::load_aligned(lanes);
}

// Stores the first n (0 <= n <= kLanes) lanes of v at p.
inline void store_tail(float* p, const VecF& v, index_t n) {
  alignas(kAlignment) float lanes[kLanes];
  v.store_aligned(lanes);
  std::copy_n(lanes, n, p);
}

// Sum of the lanes (xsimd 8 calls it hadd; later versions reduce_add).
inline float reduce_sum(const VecF& v) {
#if XSIMD_VERSION_MAJOR >= 9
  return xsimd::reduce_add(v);
#else
  return xsimd::hadd(v);
#endif
}

// Largest lane (xsimd 8 has no horizontal max).
inline float reduce_max(const VecF& v) {
  alignas(kAlignment) float lanes[kLanes];
  v.store_aligned(lanes);
  return *std::max_element(lanes, lanes + kLanes);
}

// Rows per parallel chunk so that each chunk touches about `work` elements.
inline index_t rows_per_chunk(index_t row_length, index_t work = 32768) {
  return std::max<index_t>(1, work / std::max<index_t>(row_length, 1));
}

}  // namespace internvl::cpu
