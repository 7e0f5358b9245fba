// WeightStore<Backend>: where a model keeps the weights it runs with, and for how long.
// On the host backends, matrices stay where the checkpoint's memory mapping has them (zero-copy, in
// their stored dtype) and vectors/tables become f32 copies owned by the store. The CUDA backend
// specialises the store to upload everything once (matrices converted to its compute dtype).
#pragma once

#include <memory>
#include <vector>

#include "internvl/backend/tags.hpp"
#include "internvl/core/tensor.hpp"
#include "internvl/core/weight_view.hpp"

namespace internvl::models {

template <class Backend>
class WeightStore {
 public:
  // A matrix the kernels will read as it is stored.
  template <std::size_t Rank>
  WeightView<Rank> matrix(const WeightView<Rank>& stored) {
    return stored;
  }

  // A vector or table widened to f32 and kept for the store's lifetime.
  template <std::size_t Rank>
  CView<float, Rank> table(const WeightView<Rank>& stored) {
    Tensor<float, Rank> copy(stored.shape());
    stored.visit([&]<class T>(CView<T, Rank> typed) {
      float* out = copy.data();
      for_each_element(typed, [&](const T& v) { *out++ = to_float(v); });
    });
    return keep(std::move(copy));
  }

  // A table computed on the host (a resized position embedding, a concatenated bias), kept.
  template <std::size_t Rank>
  CView<float, Rank> keep(Tensor<float, Rank>&& t) {
    auto owned = std::make_shared<Tensor<float, Rank>>(std::move(t));
    CView<float, Rank> view = owned->view();
    owned_.push_back(std::move(owned));
    return view;
  }

 private:
  std::vector<std::shared_ptr<const void>> owned_;
};

}  // namespace internvl::models
