// Device memory: the allocator behind the device Workspace, an owning buffer, an owning tensor.
//   DeviceTensor<bf16, 2> x(Extents<2>{257, 3200});     // uninitialised, on the current device
//   ops::rms_norm(ctx, y.view(), x.view(), w.view(), 1e-6f);
// Views of device memory look exactly like host views (core/tensor_view.hpp); the CUDA ops check that
// what they receive points to device memory. Copies between host and device live in transfer.cuh.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <string_view>
#include <utility>

#include "internvl/backend/cuda/check.cuh"
#include "internvl/core/dtype.hpp"
#include "internvl/core/tensor_view.hpp"
#include "internvl/core/weight_view.hpp"

namespace internvl::cuda {

// cudaMalloc / cudaFree, for Workspace<DeviceAllocator> and DeviceBuffer. cudaMalloc returns memory
// aligned to at least 256 bytes.
struct DeviceAllocator {
  static void* allocate(std::size_t bytes) {
    void* p = nullptr;
    INTERNVL_CUDA_CHECK(cudaMalloc(&p, bytes));
    return p;
  }
  static void deallocate(void* p) noexcept { static_cast<void>(cudaFree(p)); }
};

// n elements of T in device memory, freed on destruction. Move-only.
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t n)
      : data_(n ? static_cast<T*>(DeviceAllocator::allocate(n * sizeof(T))) : nullptr), size_(n) {}
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      DeviceAllocator::deallocate(data_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { DeviceAllocator::deallocate(data_); }

  T* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

// An owning, row-major tensor in device memory (the device twin of core/tensor.hpp's Tensor).
template <class T, std::size_t Rank>
class DeviceTensor {
 public:
  DeviceTensor() = default;
  explicit DeviceTensor(const Extents<Rank>& shape) : shape_(shape), buffer_(static_cast<std::size_t>(count(shape))) {}

  View<T, Rank> view() { return {buffer_.data(), shape_}; }
  CView<T, Rank> view() const { return {buffer_.data(), shape_}; }
  T* data() { return buffer_.data(); }
  const T* data() const { return buffer_.data(); }
  const Extents<Rank>& shape() const { return shape_; }
  index_t size(int dim) const { return shape_[dim]; }
  index_t numel() const { return count(shape_); }

 private:
  static index_t count(const Extents<Rank>& shape) {
    index_t n = 1;
    for (index_t e : shape) {
      n *= e;
    }
    return n;
  }

  Extents<Rank> shape_{};
  DeviceBuffer<T> buffer_;
};

// True when p points into memory a kernel can read: device or managed memory.
inline bool is_device_pointer(const void* p) {
  cudaPointerAttributes attributes{};
  if (cudaPointerGetAttributes(&attributes, p) != cudaSuccess) {
    static_cast<void>(cudaGetLastError());  // the failed query leaves an error behind: clear it
    return false;
  }
  return attributes.type == cudaMemoryTypeDevice || attributes.type == cudaMemoryTypeManaged;
}

namespace detail {

// Every CUDA op calls this for each operand before launching anything: a host pointer handed to a
// kernel would be an illegal access that poisons the whole CUDA context.
template <class T, std::size_t Rank>
void check_on_device(std::string_view op, std::string_view name, const TensorView<T, Rank>& v) {
  INTERNVL_CHECK(v.numel() == 0 || is_device_pointer(v.data()), op, name,
                 " must point to device memory (a CUDA op cannot read host memory); see backend/cuda/transfer.cuh");
}

// The ops that take a weight matrix or kernel want it in the activations' element type on CUDA (the CUDA
// weight store converts it once at load time).
template <class T, std::size_t Rank>
void check_weight_dtype(std::string_view op, const WeightView<Rank>& weight) {
  INTERNVL_CHECK(weight.dtype() == dtype_of<T>(), op, "on CUDA the weight must have the activations' dtype (",
                 name_of(dtype_of<T>()), "), got a ", name_of(weight.dtype()), " weight: convert it once at load time");
}

}  // namespace detail

}  // namespace internvl::cuda
