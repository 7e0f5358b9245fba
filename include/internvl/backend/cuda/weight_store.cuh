// WeightStore<backend::cuda, T> (models/weight_store.hpp): a model's weights in device memory, uploaded
// once at load time and freed with the store.
//   matrices  converted on the host to the compute dtype T (bf16 by default; a matching dtype is copied
//             straight from the memory-mapped checkpoint) and uploaded: ops::linear on CUDA wants W in T
//   tables    vectors and tables (biases, norm weights, layer scales, positions) widened to f32, uploaded
//   keep      a table computed on the host (a resized position embedding), uploaded; release frees it
//   keep_matrix  a matrix computed on the host (a transposed projection), converted to T and uploaded
// Each upload waits until the data is on the device (a cudaMemcpy from pageable memory may return before
// its DMA lands, and the context's non-blocking stream does not wait for the legacy stream): a table kept
// during a forward pass (a new grid's position embedding) is in place before the kernels that read it run.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <vector>

#include "internvl/backend/cuda/check.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/io/to_f32.hpp"
#include "internvl/models/weight_store.hpp"

namespace internvl::models {

template <class T>
class WeightStore<backend::cuda, T> {
 public:
  template <std::size_t Rank>
  WeightView<Rank> matrix(const WeightView<Rank>& stored) {
    if (stored.dtype() == dtype_of<T>() && stored.strides() == row_major_strides(stored.shape())) {
      return upload(stored.template as<T>());
    }
    Tensor<T, Rank> converted(stored.shape());
    T* next = converted.data();
    stored.visit([&]<class S>(CView<S, Rank> typed) {
      for_each_element(typed, [&](const S& v) { *next++ = from_float<T>(static_cast<float>(v)); });
    });
    return upload(CView<T, Rank>(converted.view()));
  }

  template <std::size_t Rank>
  CView<float, Rank> table(const WeightView<Rank>& stored) {
    return keep(io::to_f32(stored));
  }

  template <std::size_t Rank>
  CView<float, Rank> keep(Tensor<float, Rank>&& t) {
    return upload(CView<float, Rank>(t.view()));
  }

  // Frees a table that keep() returned (nothing may read it afterwards: cudaFree waits for the device).
  template <std::size_t Rank>
  void release(CView<float, Rank> kept) {
    const auto found = std::find_if(owned_.begin(), owned_.end(), [&](const cuda::DeviceBuffer<std::byte>& buffer) {
      return static_cast<const void*>(buffer.data()) == static_cast<const void*>(kept.data());
    });
    if (found != owned_.end()) {
      bytes_ -= found->size();
      owned_.erase(found);
    }
  }

  template <std::size_t Rank>
  WeightView<Rank> keep_matrix(Tensor<float, Rank>&& t) {
    return matrix(WeightView<Rank>(CView<float, Rank>(t.view())));
  }

  // Bytes of device memory the store holds.
  std::size_t device_bytes() const { return bytes_; }

 private:
  // A device copy of a contiguous host view, owned by the store.
  template <class E, std::size_t Rank>
  CView<E, Rank> upload(CView<E, Rank> host) {
    const std::size_t bytes = static_cast<std::size_t>(host.numel()) * sizeof(E);
    cuda::DeviceBuffer<std::byte> buffer(bytes);
    if (bytes > 0) {
      INTERNVL_CUDA_CHECK(cudaMemcpy(buffer.data(), host.data(), bytes, cudaMemcpyHostToDevice));
      INTERNVL_CUDA_CHECK(cudaDeviceSynchronize());
    }
    const CView<E, Rank> device(reinterpret_cast<const E*>(buffer.data()), host.shape());
    bytes_ += bytes;
    owned_.push_back(std::move(buffer));
    return device;
  }

  std::vector<cuda::DeviceBuffer<std::byte>> owned_;
  std::size_t bytes_ = 0;
};

}  // namespace internvl::models
