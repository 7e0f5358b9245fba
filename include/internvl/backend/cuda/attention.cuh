// ops::attention on CUDA. bf16/f16 with head dim 64 or 128 and 16-byte-aligned rows (the InternViT,
// InternViT-300M and QLLaMA shapes, packed QKV included) run the fused tensor-core kernel
// (flash_attention.cuh); everything else, f32 included, runs the warp-per-query kernel
// (attention_fallback.cuh). Head dims up to 256; all pointers must be device memory.
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

// The tensor-core kernel copies rows in 16-byte chunks and stores pairs of elements.
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

}  // namespace internvl::cuda::detail

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
    const cuda::AttentionParams params = cuda::detail::attention_params(out, q, k, v, options);
    using NT = cuda::native_t<T>;
    if constexpr (!std::is_same_v<T, float>) {
      if ((head_dim == 64 || head_dim == 128) && cuda::detail::rows_are_16_byte_aligned<T>(q, k, v, out)) {
        const auto run_flash = [&]<int kHeadDim>(std::integral_constant<int, kHeadDim>) {
          using Cfg = cuda::FlashAttention<kHeadDim>;
          const dim3 grid(static_cast<unsigned>(cuda::ceil_div(queries, Cfg::kBlockQ)), static_cast<unsigned>(heads),
                          static_cast<unsigned>(batch));
          cuda::launch(ctx, "flash_attention", cuda::flash_attention_kernel<NT, kHeadDim>, grid, dim3(Cfg::kThreads),
                       sizeof(typename Cfg::SharedStorage), params);
        };
        head_dim == 64 ? run_flash(std::integral_constant<int, 64>{}) : run_flash(std::integral_constant<int, 128>{});
        return;
      }
    }
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
