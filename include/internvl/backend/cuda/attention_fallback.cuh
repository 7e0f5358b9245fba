// Attention for the cases the tensor-core kernel does not take (f32, head dims other than 64/128,
// unaligned strides): one warp per (batch, head, query). Each lane holds head dims lane, lane + 32, ...
// (kChunks of them, Dh <= 32·kChunks <= 256); for every visible key the warp forms the score with a
// shuffle reduction and folds it into an online softmax:
//   m' = max(m, s),  l' = l·e^(m−m') + e^(s−m'),  acc' = acc·e^(m−m') + e^(s−m')·v_j,  O = acc / l
// Exact expf and f32 throughout: it is also the f32 checking mode. Simple and correct, not fast.
#pragma once

#include <cmath>

#include "internvl/backend/cuda/attention_params.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/backend/cuda/reduce.cuh"

namespace internvl::cuda {

inline constexpr int kFallbackWarps = 4;  // queries per block

template <class NT, int kChunks>
__device__ void attention_query_row(const AttentionParams& p, int batch, int head, int query, int lane) {
  const NT* q = static_cast<const NT*>(p.q) + batch * p.q_batch + head * p.q_head + query * p.q_seq;
  const NT* k = static_cast<const NT*>(p.k) + batch * p.k_batch + head * p.k_head;
  const NT* v = static_cast<const NT*>(p.v) + batch * p.v_batch + head * p.v_head;
  NT* out = static_cast<NT*>(p.out) + batch * p.o_batch + head * p.o_head + query * p.o_seq;
  const std::uint8_t* mask = p.key_mask != nullptr ? p.key_mask + batch * p.mask_batch : nullptr;

  float q_part[kChunks];
  float acc[kChunks];
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int d = lane + 32 * c;
    q_part[c] = d < p.head_dim ? to_f32(q[d]) : 0.0f;
    acc[c] = 0.0f;
  }
  float row_max = -INFINITY;
  float row_sum = 0.0f;
  const int key_end = p.causal ? min(p.keys, query + 1 + p.keys - p.queries) : p.keys;
  for (int j = 0; j < key_end; ++j) {
    if (mask != nullptr && mask[j * p.mask_seq] == 0) {
      continue;  // the same j for the whole warp: the shuffles below stay convergent
    }
    const NT* k_row = k + j * p.k_seq;
    float partial = 0.0f;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int d = lane + 32 * c;
      partial += d < p.head_dim ? q_part[c] * to_f32(k_row[d]) : 0.0f;
    }
    const float score = warp_sum(partial) * p.scale;
    const float new_max = fmaxf(row_max, score);
    const float correction = expf(row_max - new_max);  // 0 for the first visible key
    const float weight = expf(score - new_max);
    row_sum = row_sum * correction + weight;
    const NT* v_row = v + j * p.v_seq;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int d = lane + 32 * c;
      acc[c] = acc[c] * correction + (d < p.head_dim ? weight * to_f32(v_row[d]) : 0.0f);
    }
    row_max = new_max;
  }
  const float inv_sum = row_sum > 0.0f ? 1.0f / row_sum : 0.0f;  // a query that sees no key gets 0
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int d = lane + 32 * c;
    if (d < p.head_dim) {
      out[d] = from_f32<NT>(acc[c] * inv_sum);
    }
  }
}

template <class NT, int kChunks>
__global__ void __launch_bounds__(32 * kFallbackWarps) attention_fallback_kernel(AttentionParams p) {
  const int warp = static_cast<int>(threadIdx.x) / 32;
  const int query = static_cast<int>(blockIdx.x) * kFallbackWarps + warp;
  if (query < p.queries) {
    attention_query_row<NT, kChunks>(p, static_cast<int>(blockIdx.z), static_cast<int>(blockIdx.y), query,
                                     static_cast<int>(threadIdx.x) % 32);
  }
}

}  // namespace internvl::cuda
