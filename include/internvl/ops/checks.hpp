// Argument checks shared by the op front doors: every op validates shapes before dispatching,
// so a wrong shape is an internvl::Error naming the op and the operands, never a bad access.
#pragma once

#include <string_view>

#include "internvl/core/error.hpp"
#include "internvl/core/tensor_view.hpp"
#include "internvl/core/weight_view.hpp"

namespace internvl::ops::detail {

template <class A, class B, std::size_t Rank>
void check_same_shape(std::string_view op, std::string_view a_name, const TensorView<A, Rank>& a,
                      std::string_view b_name, const TensorView<B, Rank>& b) {
  INTERNVL_CHECK(a.shape() == b.shape(), op, a_name, " has shape ", shape_string(a), " but ", b_name, " has shape ",
                 shape_string(b));
}

template <class T, std::size_t Rank>
void check_shape(std::string_view op, std::string_view name, const TensorView<T, Rank>& v,
                 const Extents<Rank>& expected) {
  INTERNVL_CHECK(v.shape() == expected, op, name, " has shape ", shape_string(v), ", expected ",
                 shape_string(expected));
}

template <std::size_t Rank>
void check_shape(std::string_view op, std::string_view name, const WeightView<Rank>& w, const Extents<Rank>& expected) {
  INTERNVL_CHECK(w.shape() == expected, op, name, " has shape ", shape_string(w), ", expected ",
                 shape_string(expected));
}

// An optional vector (bias, norm weight) must be empty or hold exactly n elements.
template <class T>
void check_optional_vector(std::string_view op, std::string_view name, const TensorView<T, 1>& v, index_t n) {
  INTERNVL_CHECK(v.data() == nullptr || v.size(0) == n, op, name, " has ", v.size(0), " elements, expected ", n);
}

// Weights are reshaped by the kernels that read them (a conv kernel [O, C, kh, kw] as [O, C·kh·kw]).
template <std::size_t Rank>
void check_contiguous(std::string_view op, std::string_view name, const WeightView<Rank>& w) {
  INTERNVL_CHECK(w.strides() == row_major_strides(w.shape()), op, name, " ", shape_string(w),
                 " must be contiguous (strides ", shape_string(w.strides()), ")");
}

template <class T, std::size_t Rank>
void check_dense_rows(std::string_view op, std::string_view name, const TensorView<T, Rank>& v) {
  INTERNVL_CHECK(v.has_dense_rows(), op, name, " must have unit stride in its last dimension (shape ",
                 shape_string(v), ", last stride ", v.stride(Rank - 1), ")");
}

// A parameter vector (norm weight or bias, running statistics, layer scale): exactly n dense floats.
inline void check_vector(std::string_view op, std::string_view name, const CView<float, 1>& v, index_t n) {
  check_shape(op, name, v, Extents<1>{n});
  check_dense_rows(op, name, v);
}

// An [N, C, H, W] map whose H×W plane of each channel is dense (channel ops stream whole planes).
template <class T>
void check_dense_planes(std::string_view op, std::string_view name, const TensorView<T, 4>& v) {
  const bool dense = (v.size(3) <= 1 || v.stride(3) == 1) && (v.size(2) <= 1 || v.stride(2) == v.size(3));
  INTERNVL_CHECK(dense, op, name, " must have a dense H×W plane per channel (shape ", shape_string(v), ", strides ",
                 shape_string(v.strides()), ")");
}

// Rejects a negative or NaN eps (the square root of a negative variance would follow).
inline void check_eps(std::string_view op, float eps) {
  INTERNVL_CHECK(eps >= 0.0f, op, "eps must be >= 0, got ", eps);
}

// out = in · Wᵀ (+ bias): in [M, K] and out [M, N] with dense rows, W [N, K] with dense rows, bias [N]
// or empty (ops::linear and the linear layers that end in more, as ops::scaled_residual_linear).
template <class T>
void check_linear(std::string_view op, std::string_view out_name, const TensorView<T, 2>& out,
                  std::string_view in_name, const TensorView<const T, 2>& in, const WeightView<2>& w,
                  const CView<float, 1>& bias) {
  INTERNVL_CHECK(in.size(1) == w.size(1), op, in_name, " has ", in.size(1), " columns but the weight ",
                 shape_string(w), " expects ", w.size(1));
  check_shape(op, out_name, out, Extents<2>{in.size(0), w.size(0)});
  check_optional_vector(op, "bias", bias, w.size(0));
  check_dense_rows(op, in_name, in);
  check_dense_rows(op, out_name, out);
  INTERNVL_CHECK(w.stride(1) == 1, op, "weight rows must be dense");
}

// y = f(a, b) element by element: a, b and y of one shape, each with dense rows.
template <class Y, class A, class B, std::size_t Rank>
void check_elementwise(std::string_view op, std::string_view y_name, const TensorView<Y, Rank>& y,
                       std::string_view a_name, const TensorView<A, Rank>& a, std::string_view b_name,
                       const TensorView<B, Rank>& b) {
  check_same_shape(op, a_name, a, b_name, b);
  check_same_shape(op, y_name, y, a_name, a);
  check_dense_rows(op, a_name, a);
  check_dense_rows(op, b_name, b);
  check_dense_rows(op, y_name, y);
}

// A normalisation with per-channel weight and bias, channels in dimension 1, over rows [N, C] (dense
// rows) or maps [N, C, H, W] (dense H×W planes): y and x of one shape, w and b [C], eps >= 0.
template <class T, class U, std::size_t Rank>
  requires(Rank == 2 || Rank == 4)
void check_channel_norm(std::string_view op, const TensorView<T, Rank>& y, const TensorView<U, Rank>& x,
                        const CView<float, 1>& w, const CView<float, 1>& b, float eps) {
  check_same_shape(op, "y", y, "x", x);
  check_vector(op, "weight", w, x.size(1));
  check_vector(op, "bias", b, x.size(1));
  if constexpr (Rank == 2) {
    check_dense_rows(op, "x", x);
    check_dense_rows(op, "y", y);
  } else {
    check_dense_planes(op, "x", x);
    check_dense_planes(op, "y", y);
  }
  check_eps(op, eps);
}

}  // namespace internvl::ops::detail
