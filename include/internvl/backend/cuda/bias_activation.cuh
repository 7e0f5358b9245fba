// The element-wise tail of a linear layer, in place:  y[i, j] = act(y[i, j] + b[j])
// over an [M, N] matrix with row pitch `pitch`; b is an f32 vector with any stride, or absent; act is
// the identity or exact GELU, x/2 · erfc(−x/√2) as core/math.hpp defines it (which evaluates it in
// double on the host; here in f32, accurate to a few ulp). Each thread owns one pack of columns, loads
// its slice of b once and walks down the rows.
// Also: convert_vector, an f32 vector (any stride) to a dense vector of another element type.
#pragma once

#include <algorithm>
#include <limits>

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/backend/cuda/pack.cuh"
#include "internvl/ops/linear.hpp"

namespace internvl::cuda {

__device__ __forceinline__ float gelu_f32(float x) { return 0.5f * x * erfcf(-x * 0.70710678118654752f); }

template <class NT, int kPack, bool kGelu>
__device__ void bias_activation_column(NT* y, index_t pitch, const float* bias, index_t bias_stride, index_t rows,
                                       index_t first_row, index_t row_step, int col) {
  float b[kPack];
#pragma unroll
  for (int i = 0; i < kPack; ++i) {
    b[i] = bias != nullptr ? bias[(col + i) * bias_stride] : 0.0f;
  }
  for (index_t row = first_row; row < rows; row += row_step) {
    NT* p = y + row * pitch + col;
    Pack<NT, kPack> v = load_pack<kPack>(p);
#pragma unroll
    for (int i = 0; i < kPack; ++i) {
      const float f = to_f32(v.v[i]) + b[i];
      v.v[i] = from_f32<NT>(kGelu ? gelu_f32(f) : f);
    }
    store_pack<kPack>(p, v);
  }
}

template <class NT, int kPack, bool kGelu>
__global__ void bias_activation_kernel(NT* y, index_t pitch, const float* bias, index_t bias_stride, index_t rows,
                                       int cols) {
  const int col = static_cast<int>((blockIdx.x * blockDim.x + threadIdx.x) * kPack);
  if (col < cols) {
    bias_activation_column<NT, kPack, kGelu>(y, pitch, bias, bias_stride, rows, blockIdx.y, gridDim.y, col);
  }
}

template <class NT>
__global__ void convert_vector_kernel(NT* out, const float* in, index_t in_stride, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) {
    out[i] = from_f32<NT>(in[i * in_stride]);
  }
}

// y ← act(y + bias); bias may be empty.
template <class T>
void bias_activation(Context<backend::cuda>& ctx, View<T, 2> y, CView<float, 1> bias, ops::Activation act) {
  const index_t rows = y.size(0), cols = y.size(1);
  if (rows == 0 || cols == 0) {
    return;
  }
  INTERNVL_CHECK(cols <= std::numeric_limits<int>::max() / 2, "ops::linear", "output width ", cols,
                 " is too large for one launch");
  using NT = native_t<T>;
  constexpr int kPack = 16 / sizeof(T);
  constexpr int kThreads = 256;
  const bool packed = cols % kPack == 0 && pack_fits(y.data(), y.stride(0), 16);
  const int pack = packed ? kPack : 1;
  const dim3 grid(static_cast<unsigned>(ceil_div(ceil_div(cols, pack), kThreads)),
                  static_cast<unsigned>(std::min(rows, kMaxGridYZ)));
  const auto run = [&](auto kernel) {
    launch(ctx, "bias_activation", kernel, grid, dim3(kThreads), 0, native(y.data()), y.stride(0), bias.data(),
           bias.stride(0), rows, static_cast<int>(cols));
  };
  const bool gelu = act == ops::Activation::gelu;
  if (packed) {
    gelu ? run(bias_activation_kernel<NT, kPack, true>) : run(bias_activation_kernel<NT, kPack, false>);
  } else {
    gelu ? run(bias_activation_kernel<NT, 1, true>) : run(bias_activation_kernel<NT, 1, false>);
  }
}

// A dense copy of an f32 vector in element type T, taken from the context's workspace (the caller
// holds a workspace scope).
template <class T>
const T* convert_vector(Context<backend::cuda>& ctx, CView<float, 1> in) {
  const index_t n = in.size(0);
  T* out = ctx.workspace().allocate<T>(static_cast<std::size_t>(n));
  constexpr int kThreads = 256;
  launch(ctx, "convert_vector", convert_vector_kernel<native_t<T>>, dim3(static_cast<unsigned>(ceil_div(n, kThreads))),
         dim3(kThreads), 0, native(out), in.data(), in.stride(0), static_cast<int>(n));
  return out;
}

}  // namespace internvl::cuda
