// Row-wise softmax on CUDA:  y[i, j] = exp(x[i, j] − m_i) / Σ_k exp(x[i, k] − m_i),  m_i = max_k x[i, k]
// One block of 256 threads per row, three passes over the row (the later two from L1/L2): the maximum,
// the sum of exponentials, the output; f32 throughout (expf), rounded once. A row that is all −∞ gives
// NaN, as in PyTorch. 16-byte packs when the width and row starts allow. y may be x.
#pragma once

#include <climits>

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/backend/cuda/pack.cuh"
#include "internvl/backend/cuda/reduce.cuh"
#include "internvl/ops/softmax.hpp"

namespace internvl::cuda {

template <class NT, int kThreads, int kPack>
__device__ void softmax_row(NT* y, const NT* x, int width, int thread,
                            typename BlockReduceAll<kThreads>::SharedStorage& shared) {
  const int packs = width / kPack;
  float row_max = -INFINITY;
  for (int i = thread; i < packs; i += kThreads) {
    const Pack<NT, kPack> v = load_pack<kPack>(x + i * kPack);
#pragma unroll
    for (int j = 0; j < kPack; ++j) {
      row_max = fmaxf(row_max, to_f32(v.v[j]));
    }
  }
  row_max = BlockReduceAll<kThreads>::max(row_max, shared, thread);
  float sum = 0.0f;
  for (int i = thread; i < packs; i += kThreads) {
    const Pack<NT, kPack> v = load_pack<kPack>(x + i * kPack);
#pragma unroll
    for (int j = 0; j < kPack; ++j) {
      sum += expf(to_f32(v.v[j]) - row_max);
    }
  }
  __syncthreads();  // every thread has read the maximum before the storage is reused
  const float inv_sum = 1.0f / BlockReduceAll<kThreads>::sum(sum, shared, thread);
  for (int i = thread; i < packs; i += kThreads) {
    const Pack<NT, kPack> v = load_pack<kPack>(x + i * kPack);
    Pack<NT, kPack> out;
#pragma unroll
    for (int j = 0; j < kPack; ++j) {
      out.v[j] = from_f32<NT>(expf(to_f32(v.v[j]) - row_max) * inv_sum);
    }
    store_pack<kPack>(y + i * kPack, out);
  }
}

template <class NT, int kThreads, int kPack>
__global__ void __launch_bounds__(kThreads)
    softmax_kernel(NT* y, index_t y_pitch, const NT* x, index_t x_pitch, int width) {
  __shared__ typename BlockReduceAll<kThreads>::SharedStorage shared;
  const index_t row = blockIdx.x;
  softmax_row<NT, kThreads, kPack>(y + row * y_pitch, x + row * x_pitch, width, static_cast<int>(threadIdx.x), shared);
}

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct Softmax<backend::cuda> {
  static constexpr int kThreads = 256;

  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 2> y, CView<T, 2> x) {
    constexpr std::string_view op = "ops::softmax";
    const index_t rows = x.size(0), width = x.size(1);
    if (rows == 0 || width == 0) {
      return;
    }
    cuda::detail::check_on_device(op, "x", x);
    cuda::detail::check_on_device(op, "y", y);
    INTERNVL_CHECK(rows <= INT_MAX && width <= INT_MAX, op, "shape ", shape_string(x), " is too large for one launch");
    using NT = cuda::native_t<T>;
    constexpr int kPack = 16 / sizeof(T);
    const bool packed =
        width % kPack == 0 && cuda::pack_fits(x.data(), x.stride(0), 16) && cuda::pack_fits(y.data(), y.stride(0), 16);
    const auto run = [&](auto kernel) {
      cuda::launch(ctx, "softmax", kernel, dim3(static_cast<unsigned>(rows)), dim3(kThreads), 0, cuda::native(y.data()),
                   y.stride(0), cuda::native(x.data()), x.stride(0), static_cast<int>(width));
    };
    if (packed) {
      run(cuda::softmax_kernel<NT, kThreads, kPack>);
    } else {
      run(cuda::softmax_kernel<NT, kThreads, 1>);
    }
  }
};

}  // namespace internvl::ops
