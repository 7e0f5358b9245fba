// WeightStore<Backend, T>: where a model that computes in T keeps the weights it runs with, and for how long.
// On the host backends, matrices stay where the checkpoint's memory mapping has them (zero-copy, in
// their stored dtype), vectors/tables become f32 copies owned by the store, and matrices computed on the
// host stay f32. A table kept for a while only (a position embedding resized for one grid) can be released. Every
// matrix gets a PackSlot owned by the store (filled only by a cpu context with weight pre-packing on:
// Context<backend::cpu>::set_weight_prepacking). The CUDA backend specialises the store (backend/cuda/weight_store.cuh)
// to upload everything once, matrices converted to the compute dtype T.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "internvl/backend/tags.hpp"
#include "internvl/core/tensor.hpp"
#include "internvl/core/weight_view.hpp"
#include "internvl/io/to_f32.hpp"

namespace internvl::models {

template <class Backend, class T = default_activation_t<Backend>>
class WeightStore {
 public:
  // A matrix the kernels will read as it is stored, with a PackSlot (core/weight_view.hpp) that the
  // store owns, for the cpu GEMM's pre-packed panels when a context asks for them.
  template <std::size_t Rank>
  WeightView<Rank> matrix(const WeightView<Rank>& stored) {
    auto slot = std::make_shared<PackSlot>();
    PackSlot* raw = slot.get();
    owned_.push_back(std::move(slot));
    return stored.with_pack_slot(raw);
  }

  // A vector or table widened to f32 and kept for the store's lifetime.
  template <std::size_t Rank>
  CView<float, Rank> table(const WeightView<Rank>& stored) {
    return keep(io::to_f32(stored));
  }

  // A table computed on the host (a resized position embedding, a concatenated bias), kept.
  template <std::size_t Rank>
  CView<float, Rank> keep(Tensor<float, Rank>&& t) {
    auto owned = std::make_shared<Tensor<float, Rank>>(std::move(t));
    CView<float, Rank> view = owned->view();
    const std::size_t bytes = static_cast<std::size_t>(view.numel()) * sizeof(float);
    kept_.emplace(view.data(), Kept{std::move(owned), bytes});
    kept_bytes_ += bytes;
    return view;
  }

  // Frees a table that keep() returned (nothing may read it afterwards).
  template <std::size_t Rank>
  void release(CView<float, Rank> kept) {
    if (const auto found = kept_.find(kept.data()); found != kept_.end()) {
      kept_bytes_ -= found->second.bytes;
      kept_.erase(found);
    }
  }

  // Bytes of the f32 tables the store holds (those of table(), keep() and keep_matrix()).
  std::size_t kept_bytes() const { return kept_bytes_; }

  // A matrix computed on the host (a transposed projection, a classifier's class weights), kept.
  template <std::size_t Rank>
  WeightView<Rank> keep_matrix(Tensor<float, Rank>&& t) {
    return matrix(WeightView<Rank>(keep(std::move(t))));
  }

 private:
  struct Kept {
    std::shared_ptr<const void> owner;
    std::size_t bytes;
  };
  std::vector<std::shared_ptr<const void>> owned_;  // the matrices' pack slots
  std::map<const float*, Kept> kept_;               // keep()'s tables, by their data
  std::size_t kept_bytes_ = 0;
};

}  // namespace internvl::models
