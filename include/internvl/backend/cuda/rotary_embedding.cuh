// RoPE on CUDA (ops/rotary_embedding.hpp): one thread per (b, s, h, i < Dh/2) pair rotates x[.., i] and
// x[.., i + Dh/2] together, so y may be x. The angle is formed exactly as on the host: inv_freq_i
// (ops::rope_angle's f32 value, computed on the host and passed in the launch parameters) times the
// position, one f32 multiply; its cos and sin are evaluated in double and rounded to f32, as the
// reference does. The rotation itself is f32, rounded once to the element type. Head dims up to 512.
#pragma once

#include <algorithm>
#include <climits>

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/ops/rotary_embedding.hpp"

namespace internvl::cuda {

inline constexpr int kMaxRotaryHalf = 256;

struct RotaryParams {
  index_t x_batch, x_seq, x_head;  // element strides of x (unit stride along Dh)
  index_t y_batch, y_seq, y_head;
  index_t batch, tokens, heads;
  int half;  // Dh / 2
  index_t first_position;
  float inv_freq[kMaxRotaryHalf];  // θ_i = 1 / base^(2i/Dh) in f32, i < half
};

template <class NT>
__global__ void rotary_embedding_kernel(NT* y, const NT* x, RotaryParams p) {
  const index_t total = p.batch * p.tokens * p.heads * p.half;
  const index_t step = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t idx = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += step) {
    const int i = static_cast<int>(idx % p.half);
    index_t rest = idx / p.half;
    const index_t h = rest % p.heads;
    rest /= p.heads;
    const index_t s = rest % p.tokens;
    const index_t b = rest / p.tokens;
    const float angle = static_cast<float>(p.first_position + s) * p.inv_freq[i];
    double sin_d = 0.0, cos_d = 0.0;
    sincos(static_cast<double>(angle), &sin_d, &cos_d);
    const auto sin = static_cast<float>(sin_d), cos = static_cast<float>(cos_d);
    const NT* in = x + b * p.x_batch + s * p.x_seq + h * p.x_head;
    NT* out = y + b * p.y_batch + s * p.y_seq + h * p.y_head;
    const float first = to_f32(in[i]), second = to_f32(in[i + p.half]);
    out[i] = from_f32<NT>(first * cos - second * sin);
    out[i + p.half] = from_f32<NT>(second * cos + first * sin);
  }
}

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct RotaryEmbedding<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 4> y, CView<T, 4> x, const RotaryOptions& options) {
    constexpr std::string_view op = "ops::rotary_embedding";
    const index_t half = x.size(3) / 2;
    if (x.numel() == 0) {
      return;
    }
    INTERNVL_CHECK(half <= cuda::kMaxRotaryHalf, op, "head dim ", x.size(3), " is larger than the ",
                   2 * cuda::kMaxRotaryHalf, " the CUDA kernel supports");
    cuda::detail::check_on_device(op, "x", x);
    cuda::detail::check_on_device(op, "y", y);
    cuda::RotaryParams p{.x_batch = x.stride(0),
                         .x_seq = x.stride(1),
                         .x_head = x.stride(2),
                         .y_batch = y.stride(0),
                         .y_seq = y.stride(1),
                         .y_head = y.stride(2),
                         .batch = x.size(0),
                         .tokens = x.size(1),
                         .heads = x.size(2),
                         .half = static_cast<int>(half),
                         .first_position = options.first_position,
                         .inv_freq = {}};
    for (index_t i = 0; i < half; ++i) {
      p.inv_freq[i] = rope_angle(1, i, x.size(3), options.base);  // position 1: the f32 inv_freq itself
    }
    constexpr int kThreads = 256;
    const index_t blocks = std::min<index_t>(cuda::ceil_div(x.numel() / 2, kThreads), index_t{1} << 16);
    cuda::launch(ctx, "rotary_embedding", cuda::rotary_embedding_kernel<cuda::native_t<T>>,
                 dim3(static_cast<unsigned>(blocks)), dim3(kThreads), 0, cuda::native(y.data()), cuda::native(x.data()),
                 p);
  }
};

}  // namespace internvl::ops
