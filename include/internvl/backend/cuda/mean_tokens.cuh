// Mean over a range of tokens on CUDA:  out[b, :] = 1/(end − begin) · Σ_{s = begin}^{end − 1} x[b, s, :]
// One thread per (image, channel) walks down the token range (coalesced across channels) with a
// compensated (Kahan) f32 sum, so long ranges (1296 patch tokens) lose no accuracy.
#pragma once

#include <climits>

#include "internvl/backend/cuda/compensated_sum.cuh"
#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/ops/mean_tokens.hpp"

namespace internvl::cuda {

// The mean of x[s · stride] for s in [begin, end).
template <class NT>
__device__ float mean_column(const NT* x, index_t stride, index_t begin, index_t end) {
  CompensatedSum sum;
  for (index_t s = begin; s < end; ++s) {
    sum.add(to_f32(x[s * stride]));
  }
  return sum.total() / static_cast<float>(end - begin);
}

template <class NT>
__global__ void mean_tokens_kernel(NT* out, index_t out_batch, const NT* x, index_t x_batch, index_t x_seq, int width,
                                   index_t begin, index_t end) {
  const int channel = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  const index_t image = blockIdx.y;
  if (channel < width) {
    out[image * out_batch + channel] = from_f32<NT>(mean_column(x + image * x_batch + channel, x_seq, begin, end));
  }
}

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct MeanTokens<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 2> out, CView<T, 3> x, index_t begin, index_t end) {
    constexpr std::string_view op = "ops::mean_tokens";
    const index_t batch = x.size(0), width = x.size(2);
    if (batch == 0 || width == 0) {
      return;
    }
    cuda::detail::check_on_device(op, "x", x);
    cuda::detail::check_on_device(op, "out", out);
    INTERNVL_CHECK(batch <= cuda::kMaxGridYZ && width <= INT_MAX, op, "x ", shape_string(x),
                   " is too large for one launch");
    constexpr int kThreads = 128;
    cuda::launch(ctx, "mean_tokens", cuda::mean_tokens_kernel<cuda::native_t<T>>,
                 dim3(static_cast<unsigned>(cuda::ceil_div(width, kThreads)), static_cast<unsigned>(batch)),
                 dim3(kThreads), 0, cuda::native(out.data()), out.stride(0), cuda::native(x.data()), x.stride(0),
                 x.stride(1), static_cast<int>(width), begin, end);
  }
};

}  // namespace internvl::ops
