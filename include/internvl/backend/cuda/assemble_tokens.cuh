// InternViT's token assembly on CUDA:  x[b, 0, :] = cls + pos[0, :];  x[b, 1 + n, :] = patch_tokens[b, n, :] + pos[1 + n, :]
// One thread per output element in a grid-stride loop; the sum in f32 (cls and pos are f32), rounded
// once to the element type.
#pragma once

#include <algorithm>

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/ops/assemble_tokens.hpp"

namespace internvl::cuda {

template <class NT>
struct AssembleArgs {
  NT* x;
  const NT* patch_tokens;
  const float* cls;
  const float* pos;
  index_t tokens, width;             // S = 1 + N, D
  index_t x_batch, x_seq;            // strides of x [B, S, D]
  index_t patch_batch, patch_seq;    // strides of patch_tokens [B, N, D]
  index_t pos_seq;                   // row stride of pos [S, D]
};

template <class NT>
__device__ void assemble_element(const AssembleArgs<NT>& a, index_t element) {
  const index_t d = element % a.width;
  const index_t rest = element / a.width;
  const index_t s = rest % a.tokens, b = rest / a.tokens;
  const float token = s == 0 ? a.cls[d] : to_f32(a.patch_tokens[b * a.patch_batch + (s - 1) * a.patch_seq + d]);
  a.x[b * a.x_batch + s * a.x_seq + d] = from_f32<NT>(token + a.pos[s * a.pos_seq + d]);
}

template <class NT>
__global__ void assemble_tokens_kernel(AssembleArgs<NT> args, index_t total) {
  const index_t step = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t e = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    assemble_element(args, e);
  }
}

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct AssembleTokens<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 3> x, CView<T, 3> patch_tokens, CView<float, 1> cls,
                  CView<float, 2> pos) {
    constexpr std::string_view op = "ops::assemble_tokens";
    const index_t total = x.numel();
    if (total == 0) {
      return;
    }
    cuda::detail::check_on_device(op, "x", x);
    cuda::detail::check_on_device(op, "patch_tokens", patch_tokens);
    cuda::detail::check_on_device(op, "cls", cls);
    cuda::detail::check_on_device(op, "pos", pos);
    using NT = cuda::native_t<T>;
    const cuda::AssembleArgs<NT> args{.x = cuda::native(x.data()),
                                      .patch_tokens = cuda::native(patch_tokens.data()),
                                      .cls = cls.data(),
                                      .pos = pos.data(),
                                      .tokens = x.size(1),
                                      .width = x.size(2),
                                      .x_batch = x.stride(0),
                                      .x_seq = x.stride(1),
                                      .patch_batch = patch_tokens.stride(0),
                                      .patch_seq = patch_tokens.stride(1),
                                      .pos_seq = pos.stride(0)};
    constexpr int kThreads = 256;
    const index_t blocks = std::min<index_t>(cuda::ceil_div(total, kThreads), index_t{1} << 20);
    cuda::launch(ctx, "assemble_tokens", cuda::assemble_tokens_kernel<NT>, dim3(static_cast<unsigned>(blocks)),
                 dim3(kThreads), 0, args, total);
  }
};

}  // namespace internvl::ops
