// Embedding lookup on CUDA: out[n, :] = table[ids[n], :], converted from the table's stored dtype (f32,
// bf16, f16) to the activations' type. The ids arrive in host memory (ops/embedding.hpp has checked
// them) and are copied into the workspace (place_on_backend); the table must be in device memory.
// One thread per output element, in a grid-stride loop over the N × D outputs (coalesced along D).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/host_transfer.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/ops/embedding.hpp"

namespace internvl::cuda {

template <class NT, class NW>
__global__ void embedding_kernel(NT* out, index_t out_pitch, const NW* table, index_t table_pitch,
                                 const std::int32_t* ids, index_t tokens, index_t width) {
  const index_t total = tokens * width;
  const index_t step = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const index_t n = i / width, d = i - n * width;
    out[n * out_pitch + d] = from_f32<NT>(to_f32(table[ids[n] * table_pitch + d]));
  }
}

}  // namespace internvl::cuda

namespace internvl::ops {

template <>
struct Embedding<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 2> out, CView<std::int32_t, 1> ids, const WeightView<2>& table) {
    constexpr std::string_view op = "ops::embedding";
    if (out.numel() == 0) {
      return;
    }
    cuda::detail::check_on_device(op, "out", out);
    std::vector<std::int32_t> dense(static_cast<std::size_t>(ids.size(0)));  // ids may be strided
    for (index_t n = 0; n < ids.size(0); ++n) {
      dense[static_cast<std::size_t>(n)] = ids(n);
    }
    auto scope = ctx.workspace().scope();
    const CView<std::int32_t, 1> device_ids =
        place_on_backend(ctx, CView<std::int32_t, 1>(dense.data(), Extents<1>{ids.size(0)}));
    table.visit([&]<class W>(CView<W, 2> rows) {
      cuda::detail::check_on_device(op, "table", rows);
      constexpr int kThreads = 256;
      const index_t blocks = std::min<index_t>(cuda::ceil_div(out.numel(), kThreads), index_t{1} << 16);
      cuda::launch(ctx, "embedding", cuda::embedding_kernel<cuda::native_t<T>, cuda::native_t<W>>,
                   dim3(static_cast<unsigned>(blocks)), dim3(kThreads), 0, cuda::native(out.data()), out.stride(0),
                   cuda::native(rows.data()), rows.stride(0), device_ids.data(), out.size(0), out.size(1));
    });
  }
};

}  // namespace internvl::ops
