// StoredTensor: one tensor of a checkpoint as it lies in its file: name, stored dtype, shape, bytes.
// Typed access is zero-copy and checked: view<R>() / typed<T, R>() return a WeightView / CView
// straight into the file's bytes after checking that the dtype is F32/BF16/F16 (and T, for typed),
// the rank is R and, when given, the shape is the expected one; a mismatch is an internvl::Error
// naming the file, the tensor, what was expected and what was found. A StoredTensor belongs to the
// SafetensorsFile it came from and is valid (as are its views) while that file object lives.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "internvl/core/weight_view.hpp"
#include "internvl/io/safetensors_dtype.hpp"

namespace internvl::io {

// "[2, 3]" for a shape of any rank ("[]" for a scalar).
inline std::string shape_string(std::span<const index_t> shape) {
  std::string s = "[";
  for (std::size_t d = 0; d < shape.size(); ++d) {
    s.append(d ? ", " : "").append(std::to_string(shape[d]));
  }
  return s + "]";
}

class StoredTensor {
 public:
  // `bytes` must hold exactly the tensor's elements (checked by the file parser); `file` names the
  // file in errors and must outlive this object.
  StoredTensor(std::string name, StoredDType dtype, std::vector<index_t> shape, std::span<const std::byte> bytes,
               const std::string* file)
      : name_(std::move(name)), dtype_(dtype), shape_(std::move(shape)), bytes_(bytes), file_(file) {}

  const std::string& name() const { return name_; }
  const std::string& file() const { return *file_; }
  StoredDType stored_dtype() const { return dtype_; }
  std::span<const index_t> shape() const { return shape_; }
  std::size_t rank() const { return shape_.size(); }
  index_t numel() const { return std::accumulate(shape_.begin(), shape_.end(), index_t{1}, std::multiplies<>()); }
  // The raw little-endian element bytes, whatever the dtype.
  std::span<const std::byte> bytes() const { return bytes_; }

  // True for F32, BF16 and F16, the dtypes with typed views.
  bool has_element_type() const { return element_dtype(dtype_).has_value(); }

  // The element type (F32 -> f32, BF16 -> bf16, F16 -> f16); an error for any other stored dtype.
  DType dtype() const {
    const std::optional<DType> t = element_dtype(dtype_);
    INTERNVL_CHECK(t.has_value(), *file_, "tensor '", name_, "' is ", name_of(dtype_), " ", shape_string(shape_),
                   "; only F32, BF16 and F16 tensors can be used as weights");
    return *t;
  }

  // Throws unless the shape is exactly `expected`.
  template <std::size_t R>
  void check_shape(const Extents<R>& expected) const {
    INTERNVL_CHECK(std::equal(shape_.begin(), shape_.end(), expected.begin(), expected.end()), *file_, "tensor '",
                   name_, "' has shape ", shape_string(shape_), ", expected ", shape_string(std::span(expected)));
  }

  // The tensor as a rank-R weight of its stored element type.
  template <std::size_t R>
  WeightView<R> view() const {
    const DType t = dtype();
    INTERNVL_CHECK(rank() == R, *file_, "tensor '", name_, "' has shape ", shape_string(shape_), " (rank ", rank(),
                   "), expected rank ", R);
    return visit_dtype(t, [&]<class T>(T) { return WeightView<R>(typed_unchecked<T, R>()); });
  }
  template <std::size_t R>
  WeightView<R> view(const Extents<R>& expected) const {
    check_shape(expected);
    return view<R>();
  }

  // The tensor as a CView of element type T, which must be the stored one (no conversion).
  template <class T, std::size_t R>
  CView<T, R> typed() const {
    const DType t = dtype();
    INTERNVL_CHECK(t == dtype_of<T>(), *file_, "tensor '", name_, "' is ", name_of(dtype_), ", expected ",
                   name_of(io::stored_dtype(dtype_of<T>())));
    INTERNVL_CHECK(rank() == R, *file_, "tensor '", name_, "' has shape ", shape_string(shape_), " (rank ", rank(),
                   "), expected rank ", R);
    return typed_unchecked<T, R>();
  }
  template <class T, std::size_t R>
  CView<T, R> typed(const Extents<R>& expected) const {
    check_shape(expected);
    return typed<T, R>();
  }

 private:
  // The caller has checked that the rank is R.
  template <class T, std::size_t R>
  CView<T, R> typed_unchecked() const {
    Extents<R> extents{};
    std::copy_n(shape_.begin(), R, extents.begin());
    return {reinterpret_cast<const T*>(bytes_.data()), extents};  // the parser guarantees alignment
  }

  std::string name_;
  StoredDType dtype_;
  std::vector<index_t> shape_;
  std::span<const std::byte> bytes_;
  const std::string* file_;
};

}  // namespace internvl::io
