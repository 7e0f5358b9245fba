// The shape grids that the cpu-vs-reference tests of the element-wise, normalisation and
// reduction ops sweep (real InternViT token counts and widths, and awkward sizes that are not
// multiples of the vector width), and small helpers to build their inputs.
#pragma once

#include <algorithm>
#include <array>

#include "internvl/core/tensor.hpp"

namespace internvl::testing {

// Token counts (224px: 257, 448px: 1025, 504px: 1297) and awkward row counts.
inline constexpr std::array<index_t, 5> kGridRows = {1, 3, 257, 1025, 1297};
// Hidden sizes (300M: 1024, 6B: 3200, QLLaMA: 4096), the 6B MLP width (12800) and awkward ones.
inline constexpr std::array<index_t, 8> kGridWidths = {1, 3, 17, 64, 1024, 3200, 4096, 12800};
// NCHW maps: the 6B feature map at 504px, the UperNet map at 1/32, and an awkward small one.
inline constexpr std::array<Extents<4>, 3> kChannelMaps = {{{1, 3200, 36, 36}, {2, 1536, 18, 18}, {1, 5, 7, 3}}};

// A seed that differs for every shape of the grid.
inline std::uint64_t grid_seed(index_t rows, index_t width) { return static_cast<std::uint64_t>(rows * 7919 + width); }

template <class T, std::size_t Rank>
Tensor<T, Rank> copy_of(const Tensor<T, Rank>& t) {
  Tensor<T, Rank> out(t.shape());
  std::copy_n(t.data(), t.numel(), out.data());
  return out;
}

// t with `offset` added to every element (a large common offset tests the numerics of norms).
template <std::size_t Rank>
Tensor<float, Rank> shifted(const Tensor<float, Rank>& t, float offset) {
  Tensor<float, Rank> out = copy_of(t);
  for (index_t i = 0; i < out.numel(); ++i) {
    out.data()[i] += offset;
  }
  return out;
}

// a − b element by element (to compare the small update of a large value, not only the sum).
template <std::size_t Rank>
Tensor<float, Rank> difference(const Tensor<float, Rank>& a, const Tensor<float, Rank>& b) {
  Tensor<float, Rank> out(a.shape());
  for (index_t i = 0; i < out.numel(); ++i) {
    out.data()[i] = a.data()[i] - b.data()[i];
  }
  return out;
}

}  // namespace internvl::testing
