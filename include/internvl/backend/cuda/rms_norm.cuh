// RMSNorm on CUDA:  y[i, :] = w ⊙ x[i, :] / sqrt(mean_j x[i, j]² + eps)
// One block of 256 threads per row. Pass 1 sums the squares of the row in f32 (CUB block reduction),
// pass 2 rereads the row (from L1/L2) and scales it. Rows move in 16-byte packs when the width and
// every row start allow it, element by element otherwise, so any width works (3200, 4096, 1024, 17).
// y may be x: each element is read and written by the same thread, after the reduction's barrier.
#pragma once

#include <limits>

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/backend/cuda/pack.cuh"
#include "internvl/backend/cuda/reduce.cuh"
#include "internvl/ops/rms_norm.hpp"

namespace internvl::cuda {

// One row, by the kThreads threads of a block; `thread` is this thread's index in the block.
template <class NT, int kThreads, int kPack>
__device__ void rms_norm_row(NT* y, const NT* x, const float* w, int width, float eps, int thread,
                             typename BlockSum<kThreads>::SharedStorage& shared) {
  const int packs = width / kPack;
  float sum_sq = 0.0f;
  for (int p = thread; p < packs; p += kThreads) {
    const Pack<NT, kPack> v = load_pack<kPack>(x + p * kPack);
#pragma unroll
    for (int i = 0; i < kPack; ++i) {
      const float f = to_f32(v.v[i]);
      sum_sq += f * f;
    }
  }
  const float inv_rms = rsqrtf(BlockSum<kThreads>::all(sum_sq, shared, thread) / static_cast<float>(width) + eps);
  for (int p = thread; p < packs; p += kThreads) {
    const Pack<NT, kPack> v = load_pack<kPack>(x + p * kPack);
    const Pack<float, kPack> scale = load_pack<kPack>(w + p * kPack);
    Pack<NT, kPack> out;
#pragma unroll
    for (int i = 0; i < kPack; ++i) {
      out.v[i] = from_f32<NT>(scale.v[i] * (to_f32(v.v[i]) * inv_rms));
    }
    store_pack<kPack>(y + p * kPack, out);
  }
}

template <class NT, int kThreads, int kPack>
__global__ void __launch_bounds__(kThreads)
    rms_norm_kernel(NT* y, index_t y_pitch, const NT* x, index_t x_pitch, const float* w, int width, float eps) {
  __shared__ typename BlockSum<kThreads>::SharedStorage shared;
  const index_t row = blockIdx.x;
  rms_norm_row<NT, kThreads, kPack>(y + row * y_pitch, x + row * x_pitch, w, width, eps, static_cast<int>(threadIdx.x),
                                    shared);
}

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct RmsNorm<backend::cuda> {
  static constexpr int kThreads = 256;

  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 2> y, CView<T, 2> x, CView<float, 1> w, float eps) {
    constexpr std::string_view op = "ops::rms_norm";
    const index_t rows = x.size(0), width = x.size(1);
    if (rows == 0 || width == 0) {
      return;
    }
    cuda::detail::check_on_device(op, "x", x);
    cuda::detail::check_on_device(op, "y", y);
    cuda::detail::check_on_device(op, "weight", w);
    INTERNVL_CHECK(width == 1 || w.stride(0) == 1, op, "the weight must be contiguous on CUDA (stride ", w.stride(0),
                   ")");
    INTERNVL_CHECK(rows <= std::numeric_limits<int>::max() && width <= std::numeric_limits<int>::max(), op,
                   "shape ", shape_string(x), " is too large for one launch");
    using NT = cuda::native_t<T>;
    constexpr int kPack = 16 / sizeof(T);
    const bool packed = width % kPack == 0 && cuda::pack_fits(x.data(), x.stride(0), 16) &&
                        cuda::pack_fits(y.data(), y.stride(0), 16) && cuda::pack_fits(w.data(), 0, 16);
    const auto launch = [&](auto kernel) {
      cuda::launch(ctx, "rms_norm", kernel, dim3(static_cast<unsigned>(rows)), dim3(kThreads), 0, cuda::native(y.data()),
                   y.stride(0), cuda::native(x.data()), x.stride(0), w.data(), static_cast<int>(width), eps);
    };
    if (packed) {
      launch(cuda::rms_norm_kernel<NT, kThreads, kPack>);
    } else {
      launch(cuda::rms_norm_kernel<NT, kThreads, 1>);
    }
  }
};

}  // namespace internvl::ops
