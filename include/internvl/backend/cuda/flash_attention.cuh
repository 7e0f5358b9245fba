// Fused attention on tensor cores (bf16/f16 in, f32 accumulation, head dim 64 or 128, sm_80+):
//   O = softmax(scale · Q Kᵀ + mask) V, never materialising the Sq × Sk scores.
// A block of 4 warps owns 64 queries of one (batch, head); each warp owns 16 of them. Key/value tiles
// of 64 rows stream through shared memory in two stages (cp.async: tile t+1 is in flight while tile t
// is used). Per tile, each warp
//   1. computes S = Q Kᵀ for its 16 × 64 block with mma.m16n8k16 (Q fragments stay in registers),
//   2. masks it (keys past Sk, causal, key mask), and updates the online softmax in the log2 domain:
//        m' = max(m, rowmax S),  P = 2^(S − m'),  l' = l·2^(m − m') + rowsum P,  O' = O·2^(m − m') + P V
//   3. feeds P, rounded to bf16/f16, from its accumulator registers straight into the P V product.
// At the end O / l is written (0 for a query that sees no key). Shared-memory rows are padded by 16
// bytes, so the 8 rows one ldmatrix reads fall in 8 distinct bank groups.
// Resource use (nvcc 13.0 -Xptxas -v, sm_90, bf16 = f16): head dim 128: 222 registers, 87,040 bytes of
// dynamic shared memory (2 blocks per SM); head dim 64: 134 registers, 46,080 bytes (3 blocks per SM);
// no stack frame, no spills (docs/cuda.md has the table).
#pragma once

#include <cstdint>

#include "internvl/backend/cuda/attention_params.cuh"
#include "internvl/backend/cuda/mma.cuh"
#include "internvl/backend/cuda/mma_layout.hpp"

namespace internvl::cuda {

template <int kHeadDim>
struct FlashAttention {
  static constexpr int kWarps = 4;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kBlockQ = 16 * kWarps;  // queries per block
  static constexpr int kBlockK = 64;           // keys per tile
  static constexpr int kPitch = kHeadDim + 8;  // shared-memory row pitch in elements (+16 bytes)

  struct SharedStorage {
    std::uint16_t q[kBlockQ * kPitch];
    std::uint16_t k[2][kBlockK * kPitch];
    std::uint16_t v[2][kBlockK * kPitch];
  };
};

// Copies rows [row0, row0 + kRows) of a [rows, kHeadDim] matrix (row pitch `pitch` elements) into a
// shared tile; rows past `rows` are zero-filled (zeros, not garbage: P·V multiplies them by 0).
template <int kRows, int kHeadDim, int kThreads, class NT>
__device__ __forceinline__ void load_tile(std::uint16_t* tile, const NT* matrix, int row0, int rows, index_t pitch,
                                          int thread) {
  constexpr int kChunksPerRow = kHeadDim / 8;  // 16-byte chunks
  constexpr int kChunks = kRows * kChunksPerRow;
  static_assert(kChunks % kThreads == 0);
#pragma unroll
  for (int i = 0; i < kChunks / kThreads; ++i) {
    const int chunk = thread + i * kThreads;
    const int r = chunk / kChunksPerRow;
    const int col = (chunk % kChunksPerRow) * 8;
    const bool inside = row0 + r < rows;
    const NT* from = inside ? matrix + (row0 + r) * pitch + col : matrix;
    mma::cp_async_16(mma::shared_address(tile + r * FlashAttention<kHeadDim>::kPitch + col), from, inside ? 16 : 0);
  }
}

template <class NT, int kHeadDim>
__device__ void flash_attention_block(const AttentionParams& p, typename FlashAttention<kHeadDim>::SharedStorage& s,
                                      int q_block, int head, int batch, int thread) {
  using Cfg = FlashAttention<kHeadDim>;
  constexpr int kBlockK = Cfg::kBlockK;
  constexpr int kPitch = Cfg::kPitch;
  constexpr int kScoreTiles = kBlockK / 8;   // n8 accumulator tiles of S per warp
  constexpr int kOutTiles = kHeadDim / 8;    // n8 accumulator tiles of O per warp
  constexpr float kLog2e = 1.4426950408889634f;
  const int warp = thread / 32;
  const int lane = thread % 32;
  const int q0 = q_block * Cfg::kBlockQ;
  const int warp_row0 = warp * 16;

  const NT* q = static_cast<const NT*>(p.q) + batch * p.q_batch + head * p.q_head;
  const NT* k = static_cast<const NT*>(p.k) + batch * p.k_batch + head * p.k_head;
  const NT* v = static_cast<const NT*>(p.v) + batch * p.v_batch + head * p.v_head;
  const std::uint8_t* mask = p.key_mask != nullptr ? p.key_mask + batch * p.mask_batch : nullptr;

  int tiles = (p.keys + kBlockK - 1) / kBlockK;
  if (p.causal) {  // tiles after the block's last query hold no visible key
    tiles = min(tiles, (q0 + Cfg::kBlockQ + kBlockK - 1) / kBlockK);
  }

  load_tile<Cfg::kBlockQ, kHeadDim, Cfg::kThreads>(s.q, q, q0, p.queries, p.q_seq, thread);
  if (tiles > 0) {
    load_tile<kBlockK, kHeadDim, Cfg::kThreads>(s.k[0], k, 0, p.keys, p.k_seq, thread);
    load_tile<kBlockK, kHeadDim, Cfg::kThreads>(s.v[0], v, 0, p.keys, p.v_seq, thread);
  }
  mma::cp_async_commit();

  std::uint32_t q_frag[kHeadDim / 16][4];
  float o[kOutTiles][4];
#pragma unroll
  for (int dt = 0; dt < kOutTiles; ++dt) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      o[dt][e] = 0.0f;
    }
  }
  float row_max[2] = {-INFINITY, -INFINITY};  // rows g and g + 8 of the warp's 16, log2 domain
  float row_sum[2] = {0.0f, 0.0f};            // this lane's part; the 4 lanes of a group are summed at the end
  const float scale_log2 = p.scale * kLog2e;

  for (int t = 0; t < tiles; ++t) {
    const int stage = t & 1;
    if (t + 1 < tiles) {  // stage ^ 1 was released by the barrier that ended iteration t - 1
      load_tile<kBlockK, kHeadDim, Cfg::kThreads>(s.k[stage ^ 1], k, (t + 1) * kBlockK, p.keys, p.k_seq, thread);
      load_tile<kBlockK, kHeadDim, Cfg::kThreads>(s.v[stage ^ 1], v, (t + 1) * kBlockK, p.keys, p.v_seq, thread);
      mma::cp_async_commit();
      mma::cp_async_wait<1>();  // everything but tile t + 1 has landed
    } else {
      mma::cp_async_wait<0>();
    }
    __syncthreads();
    if (t == 0) {
#pragma unroll
      for (int kk = 0; kk < kHeadDim / 16; ++kk) {
        const mma::RowCol a = mma::a_address(lane);
        mma::ldmatrix_x4(q_frag[kk], mma::shared_address(s.q + (warp_row0 + a.row) * kPitch + kk * 16 + a.col));
      }
    }

    // 1. S = Q Kᵀ (16 queries × 64 keys per warp).
    float score[kScoreTiles][4];
#pragma unroll
    for (int nt = 0; nt < kScoreTiles; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        score[nt][e] = 0.0f;
      }
    }
    const std::uint16_t* k_tile = s.k[stage];
#pragma unroll
    for (int kk = 0; kk < kHeadDim / 16; ++kk) {
#pragma unroll
      for (int np = 0; np < kBlockK / 16; ++np) {
        const mma::RowCol b = mma::bt_address(lane);
        std::uint32_t frag[4];
        mma::ldmatrix_x4(frag, mma::shared_address(k_tile + (np * 16 + b.row) * kPitch + kk * 16 + b.col));
        mma::mma_m16n8k16<NT>(score[2 * np], q_frag[kk], frag[0], frag[1]);
        mma::mma_m16n8k16<NT>(score[2 * np + 1], q_frag[kk], frag[2], frag[3]);
      }
    }

    // 2. Scale into the log2 domain, mask, and update the running max and sum.
    const int key0 = t * kBlockK;
    const bool needs_mask = p.causal || mask != nullptr || key0 + kBlockK > p.keys;
#pragma unroll
    for (int nt = 0; nt < kScoreTiles; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        score[nt][e] *= scale_log2;
        if (needs_mask) {
          const mma::RowCol at = mma::accumulator(lane, e);
          const int key = key0 + nt * 8 + at.col;
          const int query = q0 + warp_row0 + at.row;
          const bool visible = key < p.keys && (!p.causal || key <= query) &&
                               (mask == nullptr || mask[key * p.mask_seq] != 0);
          if (!visible) {
            score[nt][e] = -INFINITY;
          }
        }
      }
    }
    float base[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float tile_max = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < kScoreTiles; ++nt) {
        tile_max = fmaxf(tile_max, fmaxf(score[nt][2 * r], score[nt][2 * r + 1]));
      }
      tile_max = fmaxf(tile_max, __shfl_xor_sync(0xFFFFFFFFu, tile_max, 1));  // the 4 lanes of the group
      tile_max = fmaxf(tile_max, __shfl_xor_sync(0xFFFFFFFFu, tile_max, 2));
      const float new_max = fmaxf(row_max[r], tile_max);
      base[r] = new_max == -INFINITY ? 0.0f : new_max;  // a row with no visible key yet: keep everything at 0
      const float correction = mma::exp2_approx(row_max[r] - base[r]);
      row_max[r] = new_max;
      row_sum[r] *= correction;
#pragma unroll
      for (int dt = 0; dt < kOutTiles; ++dt) {
        o[dt][2 * r] *= correction;
        o[dt][2 * r + 1] *= correction;
      }
    }
#pragma unroll
    for (int nt = 0; nt < kScoreTiles; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        score[nt][e] = mma::exp2_approx(score[nt][e] - base[e / 2]);
        row_sum[e / 2] += score[nt][e];
      }
    }

    // 3. O += P V, P taken from the score accumulators as A fragments (16 keys per step).
    const std::uint16_t* v_tile = s.v[stage];
#pragma unroll
    for (int kk = 0; kk < kBlockK / 16; ++kk) {
      std::uint32_t p_frag[4];
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        const mma::AccumulatorPair from = mma::a_register_source(r);
        p_frag[r] = mma::pack2<NT>(score[2 * kk + from.tile][from.e], score[2 * kk + from.tile][from.e + 1]);
      }
#pragma unroll
      for (int dp = 0; dp < kHeadDim / 16; ++dp) {
        const mma::RowCol b = mma::b_trans_address(lane);
        std::uint32_t frag[4];
        mma::ldmatrix_x4_trans(frag, mma::shared_address(v_tile + (kk * 16 + b.row) * kPitch + dp * 16 + b.col));
        mma::mma_m16n8k16<NT>(o[2 * dp], p_frag, frag[0], frag[1]);
        mma::mma_m16n8k16<NT>(o[2 * dp + 1], p_frag, frag[2], frag[3]);
      }
    }
    __syncthreads();  // every warp is done with this stage before iteration t + 1 refills it
  }
  mma::cp_async_wait<0>();  // (only the Q tile is still in flight when there was no key tile)

  NT* out = static_cast<NT*>(p.out) + batch * p.o_batch + head * p.o_head;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    row_sum[r] += __shfl_xor_sync(0xFFFFFFFFu, row_sum[r], 1);
    row_sum[r] += __shfl_xor_sync(0xFFFFFFFFu, row_sum[r], 2);
    const float inv_sum = row_sum[r] > 0.0f ? 1.0f / row_sum[r] : 0.0f;  // a query that sees no key gets 0
    const mma::RowCol at = mma::accumulator(lane, 2 * r);
    const int query = q0 + warp_row0 + at.row;
    if (query < p.queries) {
#pragma unroll
      for (int dt = 0; dt < kOutTiles; ++dt) {
        *reinterpret_cast<std::uint32_t*>(out + query * p.o_seq + dt * 8 + at.col) =
            mma::pack2<NT>(o[dt][2 * r] * inv_sum, o[dt][2 * r + 1] * inv_sum);
      }
    }
  }
}

template <class NT, int kHeadDim>
__global__ void __launch_bounds__(FlashAttention<kHeadDim>::kThreads) flash_attention_kernel(AttentionParams p) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  auto& shared = *reinterpret_cast<typename FlashAttention<kHeadDim>::SharedStorage*>(shared_bytes);
  flash_attention_block<NT, kHeadDim>(p, shared, static_cast<int>(blockIdx.x), static_cast<int>(blockIdx.y),
                                      static_cast<int>(blockIdx.z), static_cast<int>(threadIdx.x));
}

}  // namespace internvl::cuda
