// Copies between host tensors and device tensors, ordered on the context's stream:
//   DeviceTensor<bf16, 2> x = cuda::upload(ctx, host_x.view());   // host -> device (new tensor)
//   cuda::upload(ctx, host_x.view(), x.view());                     // host -> existing device tensor
//   Tensor<bf16, 2> y = cuda::download(ctx, dev_y.view());          // device -> host, waits for the copy
// Both sides must be contiguous (strided device views are what ops produce and consume, not what
// crosses the bus). Element types do not change on the way: convert on the host first.
#pragma once

#include <cuda_runtime_api.h>

#include <string_view>
#include <type_traits>

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/core/tensor.hpp"

namespace internvl::cuda {

namespace detail {

template <class A, class B, std::size_t Rank>
void check_copy(std::string_view what, const TensorView<A, Rank>& from, const TensorView<B, Rank>& to) {
  INTERNVL_CHECK(from.shape() == to.shape(), what, "source has shape ", shape_string(from), " but destination has ",
                 shape_string(to));
  INTERNVL_CHECK(from.is_contiguous() && to.is_contiguous(), what, "both sides must be contiguous");
}

}  // namespace detail

// Host -> device into an existing device tensor; returns once the host memory may be reused.
template <class H, class T, std::size_t Rank>
  requires std::is_same_v<std::remove_const_t<H>, T>
void upload(Context<backend::cuda>& ctx, TensorView<H, Rank> host, View<T, Rank> device) {
  detail::check_copy("cuda::upload", host, device);
  if (host.numel() == 0) {
    return;
  }
  detail::check_on_device("cuda::upload", "the destination", device);
  INTERNVL_CUDA_CHECK(cudaMemcpyAsync(device.data(), host.data(), static_cast<std::size_t>(host.numel()) * sizeof(T),
                                      cudaMemcpyHostToDevice, ctx.stream()));
  ctx.synchronize();  // pageable host memory: the copy must finish before the caller may touch it
}

template <class H, std::size_t Rank>
DeviceTensor<std::remove_const_t<H>, Rank> upload(Context<backend::cuda>& ctx, TensorView<H, Rank> host) {
  DeviceTensor<std::remove_const_t<H>, Rank> device(host.shape());
  upload(ctx, host, device.view());
  return device;
}

// Device -> host; waits for all work enqueued before it, so the result is final.
template <class D, class T, std::size_t Rank>
  requires std::is_same_v<std::remove_const_t<D>, T>
void download(Context<backend::cuda>& ctx, TensorView<D, Rank> device, View<T, Rank> host) {
  detail::check_copy("cuda::download", device, host);
  if (host.numel() == 0) {
    return;
  }
  detail::check_on_device("cuda::download", "the source", device);
  INTERNVL_CUDA_CHECK(cudaMemcpyAsync(host.data(), device.data(), static_cast<std::size_t>(host.numel()) * sizeof(T),
                                      cudaMemcpyDeviceToHost, ctx.stream()));
  ctx.synchronize();
}

template <class D, std::size_t Rank>
Tensor<std::remove_const_t<D>, Rank> download(Context<backend::cuda>& ctx, TensorView<D, Rank> device) {
  Tensor<std::remove_const_t<D>, Rank> host(device.shape());
  download(ctx, device, host.view());
  return host;
}

// Sets every byte of a contiguous device tensor (0xFF makes every f32, bf16 and f16 element a NaN).
template <class T, std::size_t Rank>
void fill_bytes(Context<backend::cuda>& ctx, View<T, Rank> device, unsigned char byte) {
  INTERNVL_CHECK(device.is_contiguous(), "cuda::fill_bytes", "the tensor must be contiguous");
  detail::check_on_device("cuda::fill_bytes", "the tensor", device);
  INTERNVL_CUDA_CHECK(
      cudaMemsetAsync(device.data(), byte, static_cast<std::size_t>(device.numel()) * sizeof(T), ctx.stream()));
}

}  // namespace internvl::cuda
