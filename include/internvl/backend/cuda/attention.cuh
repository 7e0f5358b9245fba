// ops::attention on CUDA. bf16/f16 with head dim 64 or 128, 16-byte-aligned rows and a positive scale
// (the InternViT, InternViT-300M and QLLaMA shapes, packed QKV included) run the fused tensor-core kernel
// (flash_attention.cuh) in its DefaultFlashAttention configuration; everything else, f32 included, runs
// the warp-per-query kernel (attention_fallback.cuh). Head dims up to 256; all pointers must be device memory.
// cuda::flash_attention<Cfg> runs one configuration of the fused kernel by name (tests, benchmarks).
#pragma once

#include <climits>
#include <cmath>
#include <type_traits>

#include "internvl/backend/cuda/attention_fallback.cuh"
#include "internvl/backend/cuda/attention_params.cuh"
#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/flash_attention.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/ops/attention.hpp"

namespace internvl::cuda::detail {

inline constexpr index_t kMaxAttentionHeadDim = 256;

template <class T>
AttentionParams attention_params(View<T, 4> out, CView<T, 4> q, CView<T, 4> k, CView<T, 4> v,
                                 const ops::AttentionOptions& options) {
  const CView<std::uint8_t, 2>& mask = options.key_mask;
  return AttentionParams{
      .q = q.data(), .k = k.data(), .v = v.data(), .out = out.data(),
      .q_batch = q.stride(0), .q_seq = q.stride(1), .q_head = q.stride(2),
      .k_batch = k.stride(0), .k_seq = k.stride(1), .k_head = k.stride(2),
      .v_batch = v.stride(0), .v_seq = v.stride(1), .v_head = v.stride(2),
      .o_batch = out.stride(0), .o_seq = out.stride(1), .o_head = out.stride(2),
      .key_mask = mask.data(),
      .mask_batch = mask.data() != nullptr ? mask.stride(0) : 0,
      .mask_seq = mask.data() != nullptr ? mask.stride(1) : 0,
      .queries = static_cast<int>(q.size(1)),
      .keys = static_cast<int>(k.size(1)),
      .head_dim = static_cast<int>(q.size(3)),
      .scale = options.scale,
      .causal = options.causal,
  };
}

template <class T, class... Views>
bool rows_are_16_byte_aligned(const Views&... views) {
  const auto aligned = [](const auto& view) {
    bool ok = reinterpret_cast<std::uintptr_t>(view.data()) % 16 == 0;
    for (int d = 0; d < 3; ++d) {
      ok = ok && (view.stride(d) * static_cast<index_t>(sizeof(T))) % 16 == 0;
    }
    return ok;
  };
  return (aligned(views) && ...);
}

// Whether the fused kernel takes this call (its tiles copy rows in 16-byte chunks and store pairs of
// elements; its softmax folds the scale into the exponent, which needs scale > 0).
template <class T>
bool flash_attention_applies(CView<T, 4> out, CView<T, 4> q, CView<T, 4> k, CView<T, 4> v,
                             const ops::AttentionOptions& options) {
  const index_t head_dim = q.size(3);
  return !std::is_same_v<T, float> && (head_dim == 64 || head_dim == 128) && options.scale > 0.0f &&
         std::isfinite(options.scale) && rows_are_16_byte_aligned<T>(q, k, v, out);
}

}  // namespace internvl::cuda::detail

namespace internvl::cuda {

// The configuration ops::attention runs: 4 warps of two 16-query tiles (128 queries per block), with
// 32-key tiles at head dim 128 (64 keys would spill) and 64-key tiles at head dim 64. On an H200 it was
// the fastest of bench_cuda_attention's configurations at every InternViT shape but one (257 tokens ×
// 64: 1.26× SDPA flash against 1.36× for one 16-query tile per warp); docs/benchmarks.md has the table.
template <int kHeadDim>
using DefaultFlashAttention = FlashAttention<kHeadDim, 4, 2, kHeadDim == 128 ? 32 : 64>;

// The configurations bench_cuda_attention times beside the default and test_attention checks.
template <class... Cfgs>
struct FlashAttentionList {};
using MeasuredFlashAttentions =
    FlashAttentionList<DefaultFlashAttention<128>, FlashAttention<128, 4, 1, 64>, FlashAttention<128, 8, 1, 64>,
                       DefaultFlashAttention<64>, FlashAttention<64, 4, 1, 64>, FlashAttention<64, 8, 1, 64>>;

namespace detail {

// Launches configuration Cfg on a call that flash_attention_applies to.
template <class Cfg, class T>
void launch_flash_attention(Context<backend::cuda>& ctx, View<T, 4> out, CView<T, 4> q, CView<T, 4> k,
                            CView<T, 4> v, const ops::AttentionOptions& options) {
  const dim3 grid(static_cast<unsigned>(ceil_div(q.size(1), Cfg::kBlockQ)), static_cast<unsigned>(q.size(2)),
                  static_cast<unsigned>(q.size(0)));
  launch(ctx, "flash_attention", flash_attention_kernel<native_t<T>, Cfg>, grid, dim3(Cfg::kThreads),
         sizeof(typename Cfg::SharedStorage), attention_params(out, q, k, v, options));
}

}  // namespace detail

// Runs configuration Cfg (a FlashAttention<...>) of the fused kernel; the call must be one it takes.
template <class Cfg, class T>
void flash_attention(Context<backend::cuda>& ctx, View<T, 4> out, CView<T, 4> q, CView<T, 4> k, CView<T, 4> v,
                     const ops::AttentionOptions& options) {
  INTERNVL_CHECK(q.size(3) == Cfg::kHeadDim && detail::flash_attention_applies<T>(out, q, k, v, options),
                 "cuda::flash_attention", "the kernel for head dim ", Cfg::kHeadDim,
                 " takes bf16/f16, 16-byte-aligned rows and scale > 0; got q ", shape_string(q), ", scale ",
                 options.scale);
  detail::launch_flash_attention<Cfg>(ctx, out, q, k, v, options);
}

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct Attention<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 4> out, CView<T, 4> q, CView<T, 4> k, CView<T, 4> v,
                  const AttentionOptions& options) {
    constexpr std::string_view op = "ops::attention";
    const index_t batch = q.size(0), queries = q.size(1), heads = q.size(2), head_dim = q.size(3), keys = k.size(1);
    if (out.numel() == 0) {
      return;
    }
    INTERNVL_CHECK(head_dim <= cuda::detail::kMaxAttentionHeadDim, op, "head dim ", head_dim,
                   " is larger than the ", cuda::detail::kMaxAttentionHeadDim, " the CUDA kernels support");
    INTERNVL_CHECK(batch <= cuda::kMaxGridYZ && heads <= cuda::kMaxGridYZ && queries <= INT_MAX && keys <= INT_MAX, op,
                   "q ", shape_string(q), " and k ", shape_string(k), " are too large for one launch");
    cuda::detail::check_on_device(op, "q", q);
    cuda::detail::check_on_device(op, "k", k);
    cuda::detail::check_on_device(op, "v", v);
    cuda::detail::check_on_device(op, "out", out);
    cuda::detail::check_on_device(op, "key_mask", options.key_mask);
    if constexpr (!std::is_same_v<T, float>) {
      if (cuda::detail::flash_attention_applies<T>(out, q, k, v, options)) {
        if (head_dim == 64) {
          cuda::detail::launch_flash_attention<cuda::DefaultFlashAttention<64>>(ctx, out, q, k, v, options);
        } else {
          cuda::detail::launch_flash_attention<cuda::DefaultFlashAttention<128>>(ctx, out, q, k, v, options);
        }
        return;
      }
    }
    const cuda::AttentionParams params = cuda::detail::attention_params(out, q, k, v, options);
    using NT = cuda::native_t<T>;
    const dim3 grid(static_cast<unsigned>(cuda::ceil_div(queries, cuda::kFallbackWarps)), static_cast<unsigned>(heads),
                    static_cast<unsigned>(batch));
    const dim3 block(32 * cuda::kFallbackWarps);
    if (head_dim <= 32) {
      cuda::launch(ctx, "attention_fallback", cuda::attention_fallback_kernel<NT, 1>, grid, block, 0, params);
    } else if (head_dim <= 64) {
      cuda::launch(ctx, "attention_fallback", cuda::attention_fallback_kernel<NT, 2>, grid, block, 0, params);
    } else if (head_dim <= 128) {
      cuda::launch(ctx, "attention_fallback", cuda::attention_fallback_kernel<NT, 4>, grid, block, 0, params);
    } else {
      cuda::launch(ctx, "attention_fallback", cuda::attention_fallback_kernel<NT, 8>, grid, block, 0, params);
    }
  }
};

}  // namespace internvl::ops
