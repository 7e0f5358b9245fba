// InternVL-Chat's pixel shuffle on CUDA:  out[b, t(R, c), (2a + e)·C + ch] = in[b, (2R + a)·G + 2c + e, ch]
// with t = R·G/2 + c (v2) or c·G/2 + R (v1). One thread per output element in a grid-stride loop
// (consecutive threads copy consecutive channels); a pure copy, element types unchanged.
#pragma once

#include <algorithm>

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/ops/pixel_shuffle.hpp"

namespace internvl::cuda {

struct PixelShuffleLayout {
  index_t grid, channels;           // G, C
  index_t out_batch, out_seq;       // strides of out [B, G²/4, 4C]
  index_t in_batch, in_seq;         // strides of in [B, G², C]
  bool v2;
};

template <class NT>
__device__ void pixel_shuffle_element(NT* out, const NT* in, const PixelShuffleLayout& l, index_t element) {
  const index_t half = l.grid / 2, out_tokens = half * half, out_width = 4 * l.channels;
  const index_t column = element % out_width;
  const index_t rest = element / out_width;
  const index_t t = rest % out_tokens, b = rest / out_tokens;
  const index_t r = l.v2 ? t / half : t % half;
  const index_t c = l.v2 ? t % half : t / half;
  const index_t quadrant = column / l.channels, ch = column % l.channels;
  const index_t a = quadrant / 2, e = quadrant % 2;
  out[b * l.out_batch + t * l.out_seq + column] = in[b * l.in_batch + ((2 * r + a) * l.grid + 2 * c + e) * l.in_seq + ch];
}

template <class NT>
__global__ void pixel_shuffle_kernel(NT* out, const NT* in, PixelShuffleLayout layout, index_t total) {
  const index_t step = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t e = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    pixel_shuffle_element(out, in, layout, e);
  }
}

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct PixelShuffle<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 3> out, CView<T, 3> in, index_t grid,
                  PixelShuffleVersion version) {
    constexpr std::string_view op = "ops::pixel_shuffle";
    const index_t total = out.numel();
    if (total == 0) {
      return;
    }
    cuda::detail::check_on_device(op, "in", in);
    cuda::detail::check_on_device(op, "out", out);
    const cuda::PixelShuffleLayout layout{.grid = grid,
                                          .channels = in.size(2),
                                          .out_batch = out.stride(0),
                                          .out_seq = out.stride(1),
                                          .in_batch = in.stride(0),
                                          .in_seq = in.stride(1),
                                          .v2 = version == PixelShuffleVersion::v2};
    constexpr int kThreads = 256;
    const index_t blocks = std::min<index_t>(cuda::ceil_div(total, kThreads), index_t{1} << 20);
    cuda::launch(ctx, "pixel_shuffle", cuda::pixel_shuffle_kernel<cuda::native_t<T>>,
                 dim3(static_cast<unsigned>(blocks)), dim3(kThreads), 0, cuda::native(out.data()),
                 cuda::native(in.data()), layout, total);
  }
};

}  // namespace internvl::ops
