// The shape grids that the cpu-vs-reference tests of the element-wise, normalisation and
// reduction ops sweep (real InternViT token counts and widths, and awkward sizes that are not
// multiples of the vector width), and small helpers to build their inputs.
#pragma once

#include <algorithm>
#include <array>
#include <cstdlib>
#include <span>
#include <string_view>

#include "internvl/core/tensor.hpp"

namespace internvl::testing {

// INTERNVL_TEST_SIZES=small (scripts/test.sh sets it for its sanitizer build) leaves out the
// InternViT-sized shapes: the edges where memory errors live (awkward sizes, partial vectors, row
// splits between threads) are all reached by the small ones, while the big ones take a hundred times
// longer under AddressSanitizer. Every other run uses every size.
inline bool large_sizes() {
  const char* sizes = std::getenv("INTERNVL_TEST_SIZES");
  return sizes == nullptr || std::string_view(sizes) != "small";
}

// A list of test shapes or cases whose entries from `first_large` on are InternViT-sized: all of
// them, or only the small ones under INTERNVL_TEST_SIZES=small.
template <class Case>
std::span<const Case> sized(std::span<const Case> cases, std::size_t first_large) {
  return large_sizes() ? cases : cases.first(std::min(first_large, cases.size()));
}
template <class Case, std::size_t N>
std::span<const Case> sized(const Case (&cases)[N], std::size_t first_large) {
  return sized(std::span<const Case>(cases), first_large);
}

// Token counts: awkward ones, then 224px (257), 448px (1025) and 504px (1297).
inline constexpr std::array<index_t, 5> kGridRows = {1, 3, 257, 1025, 1297};
// Widths: awkward ones, then the hidden sizes (300M: 1024, 6B: 3200, QLLaMA: 4096) and the 6B MLP
// width (12800).
inline constexpr std::array<index_t, 8> kGridWidths = {1, 3, 17, 64, 1024, 3200, 4096, 12800};
// NCHW maps: an awkward small one, then the 6B feature map at 504px and the UperNet map at 1/32.
inline constexpr std::array<Extents<4>, 3> kChannelMaps = {{{1, 5, 7, 3}, {1, 3200, 36, 36}, {2, 1536, 18, 18}}};

inline std::span<const index_t> grid_rows() { return sized(std::span<const index_t>(kGridRows), 3); }
inline std::span<const index_t> grid_widths() { return sized(std::span<const index_t>(kGridWidths), 5); }
inline std::span<const Extents<4>> channel_maps() { return sized(std::span<const Extents<4>>(kChannelMaps), 1); }

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
