// The row normalisation behind ops::rms_norm, ops::layer_norm and ops::scaled_residual_add_norm on CUDA,
// for one row of `width` elements handled by the kThreads threads of a block:
//   optional residual prologue   x ← x + γ ⊙ y              (stored rounded to the element type; the
//                                                           statistics below use the stored values)
//   RMSNorm                      h = w ⊙ x / sqrt(mean x² + eps)
//   LayerNorm                    h = (x − μ) / sqrt(mean (x − μ)² + eps) ⊙ w + b    (two passes: μ first)
// Statistics in f32 through CUB block reductions. Each thread reads and writes only its own packs of
// the row, so h may alias x (in place) or y: every element is read before the same thread writes it.
#pragma once

#include <climits>
#include <string_view>
#include <type_traits>

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/backend/cuda/pack.cuh"
#include "internvl/backend/cuda/reduce.cuh"
#include "internvl/config/vision.hpp"

namespace internvl::cuda {

// What a row normalisation reads besides x: the norm's parameters and, with a residual, y and γ.
template <class NT>
struct NormRowParams {
  const float* weight;  // [width]
  const float* bias;    // [width], LayerNorm only
  const NT* residual;   // y, the branch output, when the residual prologue runs
  const float* gamma;   // γ [width], with the residual
  int width;
  float eps;
};

// x is written only by the residual prologue, so it is const without it.
template <class NT, bool kResidual>
using NormInput = std::conditional_t<kResidual, NT*, const NT*>;

// x and h point at the start of the row.
template <class NT, int kThreads, int kPack, config::Norm kNorm, bool kResidual>
__device__ void norm_row(NT* h, NormInput<NT, kResidual> x, const NormRowParams<NT>& p, int thread,
                         typename BlockReduceAll<kThreads>::SharedStorage& shared) {
  const int packs = p.width / kPack;
  const float inv_width = 1.0f / static_cast<float>(p.width);
  float sum = 0.0f;  // Σx (LayerNorm) or Σx² (RMSNorm)
  for (int i = thread; i < packs; i += kThreads) {
    Pack<NT, kPack> v = load_pack<kPack>(x + i * kPack);
    if constexpr (kResidual) {
      const Pack<NT, kPack> y = load_pack<kPack>(p.residual + i * kPack);
      const Pack<float, kPack> g = load_pack<kPack>(p.gamma + i * kPack);
#pragma unroll
      for (int j = 0; j < kPack; ++j) {
        v.v[j] = from_f32<NT>(fmaf(g.v[j], to_f32(y.v[j]), to_f32(v.v[j])));
      }
      store_pack<kPack>(x + i * kPack, v);
    }
#pragma unroll
    for (int j = 0; j < kPack; ++j) {
      const float f = to_f32(v.v[j]);
      sum += kNorm == config::Norm::rms_norm ? f * f : f;
    }
  }
  float mean = 0.0f;
  float inv_std = 0.0f;
  if constexpr (kNorm == config::Norm::rms_norm) {
    inv_std = rsqrtf(BlockReduceAll<kThreads>::sum(sum, shared, thread) * inv_width + p.eps);
  } else {
    mean = BlockReduceAll<kThreads>::sum(sum, shared, thread) * inv_width;
    float sum_sq = 0.0f;
    for (int i = thread; i < packs; i += kThreads) {
      const Pack<NT, kPack> v = load_pack<kPack>(x + i * kPack);
#pragma unroll
      for (int j = 0; j < kPack; ++j) {
        const float d = to_f32(v.v[j]) - mean;
        sum_sq += d * d;
      }
    }
    __syncthreads();  // every thread has read the first total before the storage is reused
    inv_std = rsqrtf(BlockReduceAll<kThreads>::sum(sum_sq, shared, thread) * inv_width + p.eps);
  }
  for (int i = thread; i < packs; i += kThreads) {
    const Pack<NT, kPack> v = load_pack<kPack>(x + i * kPack);
    const Pack<float, kPack> w = load_pack<kPack>(p.weight + i * kPack);
    Pack<NT, kPack> out;
    if constexpr (kNorm == config::Norm::rms_norm) {
#pragma unroll
      for (int j = 0; j < kPack; ++j) {
        out.v[j] = from_f32<NT>(w.v[j] * (to_f32(v.v[j]) * inv_std));
      }
    } else {
      const Pack<float, kPack> b = load_pack<kPack>(p.bias + i * kPack);
#pragma unroll
      for (int j = 0; j < kPack; ++j) {
        out.v[j] = from_f32<NT>(fmaf((to_f32(v.v[j]) - mean) * inv_std, w.v[j], b.v[j]));
      }
    }
    store_pack<kPack>(h + i * kPack, out);
  }
}

// One block per row: h[row] = Norm(x[row]) (after x[row] += γ ⊙ y[row] with kResidual).
template <class NT, int kThreads, int kPack, config::Norm kNorm, bool kResidual>
__global__ void __launch_bounds__(kThreads)
    norm_rows_kernel(NT* h, index_t h_pitch, NormInput<NT, kResidual> x, index_t x_pitch, index_t y_pitch,
                     NormRowParams<NT> p) {
  __shared__ typename BlockReduceAll<kThreads>::SharedStorage shared;
  const index_t row = blockIdx.x;
  if constexpr (kResidual) {
    p.residual += row * y_pitch;
  }
  norm_row<NT, kThreads, kPack, kNorm, kResidual>(h + row * h_pitch, x + row * x_pitch, p,
                                                   static_cast<int>(threadIdx.x), shared);
}

namespace detail {

// Normalises the rows of x into h (after x += γ ⊙ y with kResidual), one block of 256 threads per row,
// in 16-byte packs when the width and every row start allow it and element by element otherwise.
// The caller has checked shapes and device pointers; y and gamma are empty without the residual, bias
// without LayerNorm.
template <config::Norm kNorm, bool kResidual, class T, class X>
void norm_rows(Context<backend::cuda>& ctx, std::string_view op, View<T, 2> h, TensorView<X, 2> x, CView<T, 2> y,
               CView<float, 1> gamma, CView<float, 1> weight, CView<float, 1> bias, float eps) {
  static_assert(std::is_same_v<std::remove_const_t<X>, T> && (kResidual || std::is_const_v<X>));
  constexpr int kThreads = 256;
  constexpr int kPack = 16 / sizeof(T);
  using NT = native_t<T>;
  const index_t rows = x.size(0), width = x.size(1);
  INTERNVL_CHECK(rows <= INT_MAX && width <= INT_MAX, op, "shape ", shape_string(x), " is too large for one launch");
  const bool packed = width % kPack == 0 && pack_fits(h.data(), h.stride(0), 16) &&
                      pack_fits(x.data(), x.stride(0), 16) && pack_fits(weight.data(), 0, 16) &&
                      pack_fits(bias.data(), 0, 16) && pack_fits(y.data(), y.stride(0), 16) &&
                      pack_fits(gamma.data(), 0, 16);
  const NormRowParams<NT> params{.weight = weight.data(),
                                 .bias = bias.data(),
                                 .residual = native(y.data()),
                                 .gamma = gamma.data(),
                                 .width = static_cast<int>(width),
                                 .eps = eps};
  const auto run = [&](auto kernel) {
    launch(ctx, "norm_rows", kernel, dim3(static_cast<unsigned>(rows)), dim3(kThreads), 0, native(h.data()),
           h.stride(0), native(x.data()), x.stride(0), y.stride(0), params);
  };
  if (packed) {
    run(norm_rows_kernel<NT, kThreads, kPack, kNorm, kResidual>);
  } else {
    run(norm_rows_kernel<NT, kThreads, 1, kNorm, kResidual>);
  }
}

}  // namespace detail

}  // namespace internvl::cuda
