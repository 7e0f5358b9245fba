// to_f32(weight): an owning f32 copy of a weight of any element type (f32, bf16, f16), in row-major
// order whatever the view's strides. Exact: every bf16 and f16 value is an f32 value. Small vectors
// (norm weights, biases, layer scales) are kept in f32 this way at load time (docs/conventions.md).
#pragma once

#include "internvl/core/tensor.hpp"
#include "internvl/core/weight_view.hpp"

namespace internvl::io {

template <std::size_t Rank>
Tensor<float, Rank> to_f32(const WeightView<Rank>& weight) {
  Tensor<float, Rank> out(weight.shape());
  float* next = out.data();
  weight.visit([&]<class T>(CView<T, Rank> typed) {
    for_each_element(typed, [&](const T& x) { *next++ = static_cast<float>(x); });
  });
  return out;
}

}  // namespace internvl::io
