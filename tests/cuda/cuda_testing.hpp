// Helpers of the CUDA tests: inputs drawn on the host, rounded to the element type under test (so the
// oracle sees exactly what the GPU sees), moved to the device; outputs poisoned with NaN before a run
// and brought back as f32 for testing::relative_l2, and the usual tolerance per element type.
#pragma once

#include "internvl/cuda.hpp"
#include "testing.hpp"

namespace internvl::testing {

namespace gpu = internvl::cuda;

// t rounded to T and widened back: the values a T tensor made from t holds.
template <class T, std::size_t Rank>
Tensor<float, Rank> rounded_to(const Tensor<float, Rank>& t) {
  Tensor<float, Rank> out(t.shape());
  for (index_t i = 0; i < t.numel(); ++i) {
    out.data()[i] = static_cast<float>(T(t.data()[i]));
  }
  return out;
}

template <class T, std::size_t Rank>
gpu::DeviceTensor<T, Rank> to_device(Context<backend::cuda>& ctx, const Tensor<float, Rank>& host) {
  const Tensor<T, Rank> converted = convert<T>(host);
  return gpu::upload(ctx, converted.view());
}

// A device tensor whose every element is NaN (all bits set).
template <class T, std::size_t Rank>
gpu::DeviceTensor<T, Rank> poisoned(Context<backend::cuda>& ctx, const Extents<Rank>& shape) {
  gpu::DeviceTensor<T, Rank> t(shape);
  gpu::fill_bytes(ctx, t.view(), 0xFF);
  return t;
}

// Downloads a contiguous device tensor and widens it to f32.
template <class T, std::size_t Rank>
Tensor<float, Rank> to_host(Context<backend::cuda>& ctx, const gpu::DeviceTensor<T, Rank>& device) {
  const Tensor<T, Rank> host = gpu::download(ctx, device.view());
  Tensor<float, Rank> out(host.shape());
  for (index_t i = 0; i < host.numel(); ++i) {
    out.data()[i] = static_cast<float>(host.data()[i]);
  }
  return out;
}

// The relative L2 tolerance of an op whose inputs are already in T and whose arithmetic is f32: the
// output's rounding, 2^-9 (bf16) or 2^-11 (f16) relative at most, dominates; in f32, `f32` (1e-5 unless told).
template <class T>
constexpr double tolerance(double f32 = 1e-5) {
  return std::is_same_v<T, float> ? f32 : std::is_same_v<T, bf16> ? 1e-2 : 5e-3;
}

template <class T>
constexpr const char* type_name() {
  return std::is_same_v<T, float> ? "f32" : std::is_same_v<T, bf16> ? "bf16" : "f16";
}

}  // namespace internvl::testing
