// Inference-mode BatchNorm on CUDA, per channel c:
//   y = (x − μ[c]) · s[c] + β[c],   s[c] = γ[c] / sqrt(σ²[c] + eps)      (in f32, rounded once)
// over the dense H×W planes of [N, C, H, W] maps, and over feature rows [N, C] seen as maps of 1×1
// planes. One thread per pack of a plane (16 bytes when the plane size and every plane start allow it,
// one element otherwise) in a grid-stride loop; s[c] is recomputed from the f32 statistics where it is
// needed, which costs less than a pass to precompute it. y may be x (in place).
#pragma once

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/backend/cuda/pack.cuh"
#include "internvl/ops/batch_norm.hpp"

namespace internvl::cuda {

// The statistics and affine parameters, each [C] and dense.
struct BatchNormArgs {
  const float* mean;
  const float* var;
  const float* weight;
  const float* bias;
  float eps;
};

// Where the planes of a map start: plane (n, c) at n·batch + c·channel.
struct PlaneStrides {
  index_t batch, channel;
};

template <class NT, int kPack>
__global__ void batch_norm_kernel(NT* y, PlaneStrides y_planes, const NT* x, PlaneStrides x_planes, index_t channels,
                                  index_t packs_per_plane, index_t total, BatchNormArgs p) {
  const index_t step = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t e = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    const index_t plane = e / packs_per_plane;
    const index_t offset = (e - plane * packs_per_plane) * kPack;
    const index_t n = plane / channels, c = plane - n * channels;
    const float mean = p.mean[c], scale = p.weight[c] / sqrtf(p.var[c] + p.eps), shift = p.bias[c];
    const Pack<NT, kPack> in = load_pack<kPack>(x + n * x_planes.batch + c * x_planes.channel + offset);
    Pack<NT, kPack> out;
#pragma unroll
    for (int k = 0; k < kPack; ++k) {
      out.v[k] = from_f32<NT>(fmaf(to_f32(in.v[k]) - mean, scale, shift));
    }
    store_pack<kPack>(y + n * y_planes.batch + c * y_planes.channel + offset, out);
  }
}

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct BatchNorm<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 4> y, CView<T, 4> x, const BatchNormParams& p) {
    constexpr std::string_view op = "ops::batch_norm";
    if (x.numel() == 0) {
      return;
    }
    cuda::detail::check_on_device(op, "x", x);
    cuda::detail::check_on_device(op, "y", y);
    cuda::detail::check_on_device(op, "running_mean", p.running_mean);
    cuda::detail::check_on_device(op, "running_var", p.running_var);
    cuda::detail::check_on_device(op, "weight", p.weight);
    cuda::detail::check_on_device(op, "bias", p.bias);
    using NT = cuda::native_t<T>;
    constexpr int kPack = 16 / sizeof(T);
    constexpr int kThreads = 256;
    const index_t channels = x.size(1), plane = x.size(2) * x.size(3);
    const bool packed = plane % kPack == 0 && cuda::pack_fits(x.data(), x.stride(0), 16) &&
                        cuda::pack_fits(x.data(), x.stride(1), 16) && cuda::pack_fits(y.data(), y.stride(0), 16) &&
                        cuda::pack_fits(y.data(), y.stride(1), 16);
    const index_t packs_per_plane = packed ? plane / kPack : plane;
    const index_t total = x.size(0) * channels * packs_per_plane;
    const cuda::BatchNormArgs args{.mean = p.running_mean.data(),
                                   .var = p.running_var.data(),
                                   .weight = p.weight.data(),
                                   .bias = p.bias.data(),
                                   .eps = p.eps};
    const auto run = [&](auto kernel) {
      cuda::launch(ctx, "batch_norm", kernel, dim3(cuda::grid_stride_blocks(total, kThreads)), dim3(kThreads), 0,
                   cuda::native(y.data()), cuda::PlaneStrides{y.stride(0), y.stride(1)}, cuda::native(x.data()),
                   cuda::PlaneStrides{x.stride(0), x.stride(1)}, channels, packs_per_plane, total, args);
    };
    if (packed) {
      run(cuda::batch_norm_kernel<NT, kPack>);
    } else {
      run(cuda::batch_norm_kernel<NT, 1>);
    }
  }

  // Feature rows [N, C]: each feature is a 1×1 plane.
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 2> y, CView<T, 2> x, const BatchNormParams& p) {
    const View<T, 4> y_map(y.data(), Extents<4>{y.size(0), y.size(1), 1, 1}, Extents<4>{y.stride(0), 1, 1, 1});
    const CView<T, 4> x_map(x.data(), Extents<4>{x.size(0), x.size(1), 1, 1}, Extents<4>{x.stride(0), 1, 1, 1});
    run(ctx, y_map, x_map, p);
  }
};

}  // namespace internvl::ops
