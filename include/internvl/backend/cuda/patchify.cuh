// Patchify on CUDA:  patches[b, y·Gw + x, (c·P + i)·P + j] = pixels[b, c, y·P + i, x·P + j]
// One thread per output element in a grid-stride loop (consecutive threads write consecutive columns
// of a patch row and read runs of P pixels); a pure copy, so every element type is moved unchanged.
#pragma once

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/ops/patchify.hpp"

namespace internvl::cuda {

struct PatchifyLayout {
  index_t patches, patch_len, grid_w, patch;  // N = Gh·Gw, C·P·P, Gw, P
  index_t out_batch, out_patch;               // strides of patches [B, N, C·P·P] (columns dense)
  index_t in_batch, in_channel, in_row;       // strides of pixels [B, C, H, W] (columns dense)
};

template <class NT>
__device__ void patchify_element(NT* out, const NT* in, const PatchifyLayout& l, index_t element) {
  const index_t column = element % l.patch_len;
  const index_t rest = element / l.patch_len;
  const index_t n = rest % l.patches, b = rest / l.patches;
  const index_t area = l.patch * l.patch;
  const index_t c = column / area, i = column % area / l.patch, j = column % l.patch;
  const index_t y = n / l.grid_w, x = n % l.grid_w;
  out[b * l.out_batch + n * l.out_patch + column] =
      in[b * l.in_batch + c * l.in_channel + (y * l.patch + i) * l.in_row + x * l.patch + j];
}

template <class NT>
__global__ void patchify_kernel(NT* out, const NT* in, PatchifyLayout layout, index_t total) {
  const index_t step = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t e = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    patchify_element(out, in, layout, e);
  }
}

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct Patchify<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 3> patches, CView<T, 4> pixels, index_t p) {
    constexpr std::string_view op = "ops::patchify";
    const index_t total = patches.numel();
    if (total == 0) {
      return;
    }
    cuda::detail::check_on_device(op, "pixels", pixels);
    cuda::detail::check_on_device(op, "patches", patches);
    const cuda::PatchifyLayout layout{.patches = patches.size(1),
                                      .patch_len = patches.size(2),
                                      .grid_w = pixels.size(3) / p,
                                      .patch = p,
                                      .out_batch = patches.stride(0),
                                      .out_patch = patches.stride(1),
                                      .in_batch = pixels.stride(0),
                                      .in_channel = pixels.stride(1),
                                      .in_row = pixels.stride(2)};
    constexpr int kThreads = 256;
    cuda::launch(ctx, "patchify", cuda::patchify_kernel<cuda::native_t<T>>,
                 dim3(cuda::grid_stride_blocks(total, kThreads)), dim3(kThreads), 0, cuda::native(patches.data()),
                 cuda::native(pixels.data()), layout, total);
  }
};

}  // namespace internvl::ops
