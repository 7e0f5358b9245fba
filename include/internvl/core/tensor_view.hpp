// TensorView<T, Rank>: a non-owning view of a strided array, the currency of every op.
//   element (i0, ..., iR-1) lives at data[i0*stride[0] + ... + iR-1*stride[R-1]]
// Row-major (last index fastest) unless strides say otherwise. Views never allocate and never
// know which memory they point into (host or device): the backend that receives them does.
// View<T, R> is writable, CView<T, R> is read-only; a View converts to a CView implicitly.
#pragma once

#include <array>
#include <cstdint>
#include <ostream>
#include <sstream>
#include <string>
#include <type_traits>

#include "internvl/core/error.hpp"
#include "internvl/core/macros.hpp"

namespace internvl {

using index_t = std::int64_t;

template <std::size_t Rank>
using Extents = std::array<index_t, Rank>;

template <std::size_t Rank>
INTERNVL_HOST_DEVICE constexpr Extents<Rank> row_major_strides(const Extents<Rank>& shape) {
  Extents<Rank> strides{};
  index_t step = 1;
  for (std::size_t d = Rank; d-- > 0;) {
    strides[d] = step;
    step *= shape[d];
  }
  return strides;
}

// "[257, 3200]": for error messages.
template <std::size_t N>
std::string shape_string(const std::array<index_t, N>& shape) {
  std::ostringstream out;
  out << '[';
  for (std::size_t d = 0; d < N; ++d) {
    out << (d ? ", " : "") << shape[d];
  }
  out << ']';
  return out.str();
}

template <class T, std::size_t Rank>
class TensorView {
  static_assert(Rank >= 1 && Rank <= 6, "internvl: TensorView rank must be between 1 and 6");

 public:
  using element_type = T;
  static constexpr std::size_t rank = Rank;

  TensorView() = default;
  INTERNVL_HOST_DEVICE TensorView(T* data, const Extents<Rank>& shape)
      : data_(data), shape_(shape), strides_(row_major_strides<Rank>(shape)) {}
  INTERNVL_HOST_DEVICE TensorView(T* data, const Extents<Rank>& shape, const Extents<Rank>& strides)
      : data_(data), shape_(shape), strides_(strides) {}

  // View<T> -> CView<T>.
  template <class U>
    requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
  INTERNVL_HOST_DEVICE TensorView(const TensorView<U, Rank>& other)  // NOLINT: implicit on purpose
      : data_(other.data()), shape_(other.shape()), strides_(other.strides()) {}

  INTERNVL_HOST_DEVICE T* data() const { return data_; }
  INTERNVL_HOST_DEVICE const Extents<Rank>& shape() const { return shape_; }
  INTERNVL_HOST_DEVICE const Extents<Rank>& strides() const { return strides_; }
  INTERNVL_HOST_DEVICE index_t size(int dim) const { return shape_[dim]; }
  INTERNVL_HOST_DEVICE index_t stride(int dim) const { return strides_[dim]; }

  INTERNVL_HOST_DEVICE index_t numel() const {
    index_t n = 1;
    for (std::size_t d = 0; d < Rank; ++d) {
      n *= shape_[d];
    }
    return n;
  }
  INTERNVL_HOST_DEVICE bool empty() const { return numel() == 0; }

  // True when the elements are densely packed in row-major order.
  INTERNVL_HOST_DEVICE bool is_contiguous() const {
    index_t step = 1;
    for (std::size_t d = Rank; d-- > 0;) {
      if (shape_[d] != 1 && strides_[d] != step) {
        return false;
      }
      step *= shape_[d];
    }
    return true;
  }

  // True when each row (the last dimension) is dense, so rows can be handed to vector kernels.
  INTERNVL_HOST_DEVICE bool has_dense_rows() const { return shape_[Rank - 1] <= 1 || strides_[Rank - 1] == 1; }

  template <class... Is>
    requires(sizeof...(Is) == Rank && (std::is_integral_v<Is> && ...))
  INTERNVL_HOST_DEVICE T& operator()(Is... indices) const {
    // Σ_d index_d · stride_d, folded over the arguments. Written as a loop over an array of the indices,
    // GCC 12 at -O2 with AVX2 vectorised it into emulated 64-bit multiplies, which made element-wise
    // loops 10-20x slower than at -O3 (reference conv2d, 6B patch embedding: 11.0 s against 1.2 s).
    // The strides are read through a plain pointer: at -O0 (debug and sanitizer builds) each
    // std::array::operator[] is two calls, which took over a third of the reference attention's time.
    const index_t* stride = strides_.data();
    index_t offset = 0;
    ((offset += static_cast<index_t>(indices) * *stride++), ...);
    return data_[offset];
  }

  // The sub-view at index i of the first dimension.
  INTERNVL_HOST_DEVICE TensorView<T, Rank - 1> operator[](index_t i) const
    requires(Rank > 1)
  {
    Extents<Rank - 1> shape{};
    Extents<Rank - 1> strides{};
    for (std::size_t d = 1; d < Rank; ++d) {
      shape[d - 1] = shape_[d];
      strides[d - 1] = strides_[d];
    }
    return {data_ + i * strides_[0], shape, strides};
  }

  // Elements [begin, end) along `dim`; the other dimensions are untouched.
  TensorView slice(int dim, index_t begin, index_t end) const {
    INTERNVL_CHECK(dim >= 0 && static_cast<std::size_t>(dim) < Rank && begin >= 0 && begin <= end && end <= shape_[dim], "TensorView::slice",
                   "range [", begin, ", ", end, ") of dimension ", dim, " is outside a view of shape ",
                   shape_string(shape_));
    Extents<Rank> shape = shape_;
    shape[dim] = end - begin;
    return {data_ + begin * strides_[dim], shape, strides_};
  }

  // The same elements under another row-major shape; the view must be contiguous.
  template <std::size_t NewRank>
  TensorView<T, NewRank> reshape(const std::array<index_t, NewRank>& shape) const {
    index_t n = 1;
    for (index_t e : shape) {
      n *= e;
    }
    INTERNVL_CHECK(is_contiguous(), "TensorView::reshape", "view of shape ", shape_string(shape_),
                   " is not contiguous");
    INTERNVL_CHECK(n == numel(), "TensorView::reshape", "cannot reshape ", shape_string(shape_), " (", numel(),
                   " elements) to ", shape_string(shape), " (", n, " elements)");
    return {data_, shape};
  }

  // Swaps two dimensions (no data moves; the result is strided).
  TensorView transpose(int a, int b) const {
    Extents<Rank> shape = shape_;
    Extents<Rank> strides = strides_;
    std::swap(shape[a], shape[b]);
    std::swap(strides[a], strides[b]);
    return {data_, shape, strides};
  }

 private:
  T* data_ = nullptr;
  Extents<Rank> shape_{};
  Extents<Rank> strides_{};
};

template <class T, std::size_t Rank>
using View = TensorView<T, Rank>;
template <class T, std::size_t Rank>
using CView = TensorView<const T, Rank>;

template <class T, std::size_t Rank>
std::string shape_string(const TensorView<T, Rank>& v) {
  return shape_string(v.shape());
}

// Calls fn(element&) for every element of a (possibly strided) view, in row-major order.
template <class T, std::size_t Rank, class Fn>
void for_each_element(const TensorView<T, Rank>& v, Fn&& fn) {
  if (v.empty()) {
    return;
  }
  const index_t row_length = v.size(Rank - 1), step = v.stride(Rank - 1);
  const index_t rows = v.numel() / row_length;
  Extents<Rank> outer{};  // the index of the current row over dimensions 0..Rank-2, last fastest
  T* row = v.data();
  for (index_t r = 0; r < rows; ++r) {
    for (index_t i = 0; i < row_length; ++i) {
      fn(row[i * step]);
    }
    for (std::size_t d = Rank - 1; d-- > 0;) {  // the next row, never pointing past the view
      if (++outer[d] < v.size(d)) {
        row += v.stride(d);
        break;
      }
      row -= (v.size(d) - 1) * v.stride(d);
      outer[d] = 0;
    }
  }
}

template <class T, class U, std::size_t Rank>
bool same_shape(const TensorView<T, Rank>& a, const TensorView<U, Rank>& b) {
  return a.shape() == b.shape();
}

}  // namespace internvl
