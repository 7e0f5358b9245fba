// Channels-first LayerNorm on CUDA: at each pixel (n, h, w) the C channel values are normalised,
//   y[n, c, h, w] = (x[n, c, h, w] − μ) / sqrt(σ² + eps) · w[c] + b[c]     (biased σ², two passes: μ first)
// over [N, C, H, W] maps with dense H×W planes. A block of 32 × 8 threads takes 32 consecutive pixels of
// one image: thread (p, g) sums channels g, g + 8, ... of pixel p (reads along the pixels: coalesced),
// the 8 partial sums of each pixel meet in shared memory; f32 statistics with compensated sums
// (compensated_sum.cuh). Each thread writes only the elements it read, after every thread has read its
// own, so y may be x.
#pragma once

#include <climits>

#include "internvl/backend/cuda/compensated_sum.cuh"
#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/ops/layer_norm_channels.hpp"

namespace internvl::cuda {

inline constexpr int kChannelNormPixels = 32;  // pixels per block (threadIdx.x)
inline constexpr int kChannelNormGroups = 8;   // channel groups per pixel (threadIdx.y)

struct ChannelNormArgs {
  const float* weight;
  const float* bias;
  index_t channels, pixels;
  index_t x_batch, x_channel, y_batch, y_channel;  // strides of x and y
  float eps;
};

// The sum over the block's channel groups of every thread's `partial`, for the thread's pixel.
__device__ inline float sum_over_groups(float partial, float (&shared)[kChannelNormGroups][kChannelNormPixels + 1],
                                        int pixel, int group) {
  shared[group][pixel] = partial;
  __syncthreads();
  float total = 0.0f;
#pragma unroll
  for (int g = 0; g < kChannelNormGroups; ++g) {
    total += shared[g][pixel];
  }
  __syncthreads();  // the storage may be reused
  return total;
}

template <class NT>
__global__ void __launch_bounds__(kChannelNormPixels* kChannelNormGroups)
    layer_norm_channels_kernel(NT* y, const NT* x, ChannelNormArgs a) {
  __shared__ float shared[kChannelNormGroups][kChannelNormPixels + 1];
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const index_t pixel = static_cast<index_t>(blockIdx.x) * kChannelNormPixels + tx;
  const bool active = pixel < a.pixels;  // inactive threads still take part in the block's sums
  const NT* in = x + blockIdx.y * a.x_batch + pixel;
  CompensatedSum sum;
  for (index_t c = ty; active && c < a.channels; c += kChannelNormGroups) {
    sum.add(to_f32(in[c * a.x_channel]));
  }
  const float inv_channels = 1.0f / static_cast<float>(a.channels);
  const float mean = sum_over_groups(sum.total(), shared, tx, ty) * inv_channels;
  CompensatedSum squares;
  for (index_t c = ty; active && c < a.channels; c += kChannelNormGroups) {
    const float d = to_f32(in[c * a.x_channel]) - mean;
    squares.add(d * d);
  }
  const float inv_std = 1.0f / sqrtf(sum_over_groups(squares.total(), shared, tx, ty) * inv_channels + a.eps);
  NT* out = y + blockIdx.y * a.y_batch + pixel;
  for (index_t c = ty; active && c < a.channels; c += kChannelNormGroups) {
    out[c * a.y_channel] = from_f32<NT>(fmaf((to_f32(in[c * a.x_channel]) - mean) * inv_std, a.weight[c], a.bias[c]));
  }
}

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct LayerNormChannels<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 4> y, CView<T, 4> x, CView<float, 1> w, CView<float, 1> b,
                  float eps) {
    constexpr std::string_view op = "ops::layer_norm_channels";
    const index_t batch = x.size(0), channels = x.size(1), pixels = x.size(2) * x.size(3);
    if (x.numel() == 0) {
      return;
    }
    cuda::detail::check_on_device(op, "x", x);
    cuda::detail::check_on_device(op, "y", y);
    cuda::detail::check_on_device(op, "weight", w);
    cuda::detail::check_on_device(op, "bias", b);
    INTERNVL_CHECK(batch <= cuda::kMaxGridYZ && cuda::ceil_div(pixels, cuda::kChannelNormPixels) <= INT_MAX, op, "x ",
                   shape_string(x), " is too large for one launch (at most ", cuda::kMaxGridYZ, " images)");
    const cuda::ChannelNormArgs args{.weight = w.data(),
                                     .bias = b.data(),
                                     .channels = channels,
                                     .pixels = pixels,
                                     .x_batch = x.stride(0),
                                     .x_channel = x.stride(1),
                                     .y_batch = y.stride(0),
                                     .y_channel = y.stride(1),
                                     .eps = eps};
    cuda::launch(
        ctx, "layer_norm_channels", cuda::layer_norm_channels_kernel<cuda::native_t<T>>,
        dim3(static_cast<unsigned>(cuda::ceil_div(pixels, cuda::kChannelNormPixels)), static_cast<unsigned>(batch)),
        dim3(cuda::kChannelNormPixels, cuda::kChannelNormGroups), 0, cuda::native(y.data()), cuda::native(x.data()),
        args);
  }
};

}  // namespace internvl::ops
