// Tensor<T, Rank>: an owning, 64-byte-aligned host array with a row-major shape.
// It exists for tests, examples, loaders and model state; ops take views (tensor.view()).
#pragma once

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>

#include "internvl/core/tensor_view.hpp"

namespace internvl {

inline constexpr std::size_t kAlignment = 64;  // one cache line, and a full AVX-512 register

struct AlignedFree {
  void operator()(void* p) const noexcept { std::free(p); }
};

// Uninitialised, 64-byte-aligned storage for n objects of a trivial type.
template <class T>
std::unique_ptr<T[], AlignedFree> aligned_array(std::size_t n) {
  static_assert(std::is_trivially_copyable_v<T>);
  const std::size_t bytes = std::max<std::size_t>(kAlignment, (n * sizeof(T) + kAlignment - 1) / kAlignment * kAlignment);
  void* p = std::aligned_alloc(kAlignment, bytes);
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  return std::unique_ptr<T[], AlignedFree>(static_cast<T*>(p));
}

template <class T, std::size_t Rank>
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(const Extents<Rank>& shape) : shape_(shape), storage_(aligned_array<T>(count(shape))) {}
  Tensor(const Extents<Rank>& shape, T fill) : Tensor(shape) { std::fill_n(storage_.get(), numel(), fill); }

  View<T, Rank> view() { return {storage_.get(), shape_}; }
  CView<T, Rank> view() const { return {storage_.get(), shape_}; }
  operator View<T, Rank>() { return view(); }              // NOLINT: a tensor is usable where a view is
  operator CView<T, Rank>() const { return view(); }        // NOLINT

  T* data() { return storage_.get(); }
  const T* data() const { return storage_.get(); }
  const Extents<Rank>& shape() const { return shape_; }
  index_t size(int dim) const { return shape_[dim]; }
  index_t numel() const { return count(shape_); }

  template <class... Is>
  T& operator()(Is... i) {
    return view()(i...);
  }
  template <class... Is>
  const T& operator()(Is... i) const {
    return view()(i...);
  }

 private:
  static index_t count(const Extents<Rank>& shape) {
    index_t n = 1;
    for (index_t e : shape) {
      n *= e;
    }
    return n;
  }

  Extents<Rank> shape_{};
  std::unique_ptr<T[], AlignedFree> storage_;
};

}  // namespace internvl
