// WeightView<Rank>: a read-only view whose element type (f32, bf16 or f16) is known only at run
// time. Weights keep the dtype they were stored in, so the kernels that read them (GEMM packing,
// convolutions) take a WeightView and dispatch once per call on its dtype:
//   w.visit([&]<class T>(CView<T, 2> typed) { ... });
// Any CView<T, Rank> of an element type converts to a WeightView<Rank> implicitly.
// A weight kept by models::WeightStore also carries a PackSlot: room for a form of the same matrix
// that a backend's kernels read faster (the cpu GEMM's pre-packed panels, backend/cpu/gemm/prepack.hpp),
// filled by that backend on first use if asked to. Views made from a WeightView (reshape, as) drop it.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>

#include "internvl/core/dtype.hpp"
#include "internvl/core/tensor_view.hpp"

namespace internvl {

struct PackSlot {
  std::once_flag filled;
  const void* layout = nullptr;  // whose layout `data` holds (the backend's tag), nullptr while empty
  const void* source = nullptr;  // the weight it was made from
  std::shared_ptr<const std::byte> data;
};

template <std::size_t Rank>
class WeightView {
 public:
  WeightView() = default;

  template <class T>
    requires is_element_type_v<T>
  WeightView(const TensorView<const T, Rank>& v)  // NOLINT: implicit on purpose
      : data_(v.data()), dtype_(dtype_of<T>()), shape_(v.shape()), strides_(v.strides()) {}

  template <class T>
    requires is_element_type_v<T>
  WeightView(const TensorView<T, Rank>& v) : WeightView(CView<T, Rank>(v)) {}  // NOLINT

  DType dtype() const { return dtype_; }
  const void* data() const { return data_; }
  const Extents<Rank>& shape() const { return shape_; }
  const Extents<Rank>& strides() const { return strides_; }
  index_t size(int dim) const { return shape_[dim]; }
  index_t stride(int dim) const { return strides_[dim]; }
  bool empty() const { return data_ == nullptr; }

  // The slot of a weight kept by a WeightStore (nullptr otherwise), and this view with slot `slot`.
  PackSlot* pack_slot() const { return pack_slot_; }
  WeightView with_pack_slot(PackSlot* slot) const {
    WeightView w = *this;
    w.pack_slot_ = slot;
    return w;
  }

  // The typed view; T must be the stored dtype.
  template <class T>
  CView<T, Rank> as() const {
    INTERNVL_CHECK(dtype_of<T>() == dtype_, "WeightView::as", "weight is ", name_of(dtype_), ", not ",
                   name_of(dtype_of<T>()));
    return {static_cast<const T*>(data_), shape_, strides_};
  }

  // The same elements under another row-major shape; the view must be contiguous.
  template <std::size_t NewRank>
  WeightView<NewRank> reshape(const std::array<index_t, NewRank>& shape) const {
    return visit([&]<class T>(CView<T, Rank> typed) { return WeightView<NewRank>(typed.reshape(shape)); });
  }

  // Calls fn(CView<T, Rank>) with T the stored element type.
  template <class Fn>
  decltype(auto) visit(Fn&& fn) const {
    return visit_dtype(dtype_, [&]<class T>(T) -> decltype(auto) { return fn(as<T>()); });
  }

 private:
  const void* data_ = nullptr;
  DType dtype_ = DType::f32;
  Extents<Rank> shape_{};
  Extents<Rank> strides_{};
  PackSlot* pack_slot_ = nullptr;
};

template <std::size_t Rank>
std::string shape_string(const WeightView<Rank>& w) {
  return shape_string(w.shape());
}

}  // namespace internvl
