// Fused attention on tensor cores (bf16/f16 in, f32 accumulation, head dim 64 or 128, sm_80+):
//   O = softmax(scale · Q Kᵀ + mask) V, never materialising the Sq × Sk scores.
// A block of kWarps warps owns kBlockQ queries of one (batch, head); each warp owns kRowTiles tiles of
// 16 queries. Key/value tiles of kBlockK rows stream through shared memory in two stages (cp.async:
// tile t+1 is in flight while tile t is used; one barrier per tile). Per tile, each warp
//   1. computes S = Q Kᵀ for its (16·kRowTiles) × kBlockK block with mma.m16n8k16; every K fragment read from
//      shared memory feeds kRowTiles products, so two row tiles halve the shared-memory traffic per flop,
//   2. masks S (keys past Sk, causal, key mask) and updates the online softmax in the log2 domain, with
//      c = scale · log2(e) > 0 folded into one FFMA per score (m: a running max of the row's raw scores):
//        m' = max(m, rowmax S),  P = 2^(c·S − c·m'),  l' = l·2^(c·m − c·m') + rowsum P,  O' = O·2^(c·m − c·m') + P V
//      where m' = m (no rescale of O and l) unless some row of the warp has c·(rowmax S − m) > 8, so that
//      P ≤ 2^8; after the first tiles the max rarely moves that far and the rescale is skipped,
//   3. feeds P, rounded to bf16/f16, from its accumulator registers straight into the P V product.
// At the end O / l is written (0 for a query that sees no key). A warp whose queries all lie past Sq
// (the last block of a sequence) only helps load tiles. Shared-memory rows are padded by 16 bytes, so
// the 8 rows one ldmatrix reads fall in 8 distinct bank groups. Q fragments stay in registers when they
// fit (kRowTiles · kHeadDim ≤ 128); otherwise they are read from shared memory for every key tile.
// Configurations: FlashAttention<Dh, warps, row tiles, key tile>; ops::attention runs
// DefaultFlashAttention (attention.cuh), the others are benchmarked beside it (docs/cuda.md has their
// registers and shared memory, docs/benchmarks.md their rates).
#pragma once

#include <cstdint>

#include "internvl/backend/cuda/attention_params.cuh"
#include "internvl/backend/cuda/mma.cuh"
#include "internvl/backend/cuda/mma_layout.hpp"

namespace internvl::cuda {

template <int kHeadDimV, int kWarpsV = 4, int kRowTilesV = 1, int kBlockKV = 64>
struct FlashAttention {
  static constexpr int kHeadDim = kHeadDimV;
  static constexpr int kWarps = kWarpsV;
  static constexpr int kRowTiles = kRowTilesV;     // 16-query tiles per warp
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kBlockQ = 16 * kRowTiles * kWarps;  // queries per block
  static constexpr int kBlockK = kBlockKV;                 // keys per tile
  static constexpr int kPitch = kHeadDim + 8;              // shared-memory row pitch in elements (+16 bytes)
  static constexpr bool kQInRegisters = kRowTiles * kHeadDim <= 128;
  static_assert(kHeadDim == 64 || kHeadDim == 128);
  static_assert(kBlockK >= 16 && (kBlockK & (kBlockK - 1)) == 0);  // a power of two (row_tree)

  struct SharedStorage {
    std::uint16_t q[kBlockQ * kPitch];
    std::uint16_t k[2][kBlockK * kPitch];
    std::uint16_t v[2][kBlockK * kPitch];
  };
};

// Copies rows [row0, row0 + kRows) of a [rows, kHeadDim] matrix (row pitch `pitch` elements) into a
// shared tile of row pitch kPitch; rows past `rows` are zero-filled (zeros, not garbage: P·V multiplies
// them by 0).
template <int kRows, int kHeadDim, int kPitch, int kThreads, class NT>
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
    mma::cp_async_16(mma::shared_address(tile + r * kPitch + col), from, inside ? 16 : 0);
  }
}

// The A fragments of Q for the 16 rows from row0 and head-dim slice kk (16 columns), from shared memory.
template <class Cfg>
__device__ __forceinline__ void load_q_fragment(std::uint32_t (&frag)[4], const std::uint16_t* q_tile, int row0, int kk,
                                                int lane) {
  const mma::RowCol a = mma::a_address(lane);
  mma::ldmatrix_x4(frag, mma::shared_address(q_tile + (row0 + a.row) * Cfg::kPitch + kk * 16 + a.col));
}

// op over this lane's 2·kTiles scores of accumulator row r (0: row g, 1: row g + 8) as a pairwise tree,
// so that its dependent chain is log2(2·kTiles) operations long rather than 2·kTiles.
template <int kTiles, class Op>
__device__ __forceinline__ float row_tree(const float (&score)[kTiles][4], int r, Op op) {
  float v[2 * kTiles];
#pragma unroll
  for (int nt = 0; nt < kTiles; ++nt) {
    v[2 * nt] = score[nt][2 * r];
    v[2 * nt + 1] = score[nt][2 * r + 1];
  }
  static_assert(kTiles <= 16 && (kTiles & (kTiles - 1)) == 0);
#pragma unroll
  for (int step = 0; step < 5; ++step) {  // halves 32, 16, ... values down to 1 (a no-op once kTiles >> step is 0)
    const int width = kTiles >> step;
#pragma unroll
    for (int i = 0; i < kTiles; ++i) {  // (fixed bounds, so that both loops unroll and v stays in registers)
      if (i < width) {
        v[i] = op(v[i], v[i + width]);
      }
    }
  }
  return v[0];
}

// acc[rt][n] and acc[rt][n + 1] += a[rt] · b for every row tile rt, b being a 16 × 16 B fragment (two
// n8 halves): one fragment read from shared memory feeds the products of all the warp's row tiles.
template <class NT, int kRowTiles, int kTiles>
__device__ __forceinline__ void mma_row_tiles(float (&acc)[kRowTiles][kTiles][4], int n,
                                              const std::uint32_t (&a)[kRowTiles][4], const std::uint32_t (&b)[4]) {
#pragma unroll
  for (int rt = 0; rt < kRowTiles; ++rt) {
    mma::mma_m16n8k16<NT>(acc[rt][n], a[rt], b[0], b[1]);
    mma::mma_m16n8k16<NT>(acc[rt][n + 1], a[rt], b[2], b[3]);
  }
}

template <class NT, class Cfg>
__device__ void flash_attention_block(const AttentionParams& p, typename Cfg::SharedStorage& s, int q_block, int head,
                                      int batch, int thread) {
  constexpr int kHeadDim = Cfg::kHeadDim;
  constexpr int kRowTiles = Cfg::kRowTiles;
  constexpr int kBlockK = Cfg::kBlockK;
  constexpr int kPitch = Cfg::kPitch;
  constexpr int kScoreTiles = kBlockK / 8;   // n8 accumulator tiles of S per row tile
  constexpr int kOutTiles = kHeadDim / 8;    // n8 accumulator tiles of O per row tile
  constexpr int kSlices = kHeadDim / 16;     // k16 slices of the head dim
  constexpr float kLog2e = 1.4426950408889634f;
  constexpr float kMaxGrowth = 8.0f;  // log2 units a row's scores may pass its running max by
  const int warp = thread / 32;
  const int lane = thread % 32;
  const int q0 = q_block * Cfg::kBlockQ;
  const int warp_row0 = warp * 16 * kRowTiles;
  const bool warp_has_queries = q0 + warp_row0 < p.queries;

  const NT* q = static_cast<const NT*>(p.q) + batch * p.q_batch + head * p.q_head;
  const NT* k = static_cast<const NT*>(p.k) + batch * p.k_batch + head * p.k_head;
  const NT* v = static_cast<const NT*>(p.v) + batch * p.v_batch + head * p.v_head;
  const std::uint8_t* mask = p.key_mask != nullptr ? p.key_mask + batch * p.mask_batch : nullptr;

  int tiles = (p.keys + kBlockK - 1) / kBlockK;
  const int causal_offset = p.keys - p.queries;  // causal: query i sees keys j <= i + causal_offset
  if (p.causal) {                                // tiles after the block's last query hold no visible key
    tiles = min(tiles, (q0 + Cfg::kBlockQ + causal_offset + kBlockK - 1) / kBlockK);
  }

  load_tile<Cfg::kBlockQ, kHeadDim, kPitch, Cfg::kThreads>(s.q, q, q0, p.queries, p.q_seq, thread);
  if (tiles > 0) {
    load_tile<kBlockK, kHeadDim, kPitch, Cfg::kThreads>(s.k[0], k, 0, p.keys, p.k_seq, thread);
    load_tile<kBlockK, kHeadDim, kPitch, Cfg::kThreads>(s.v[0], v, 0, p.keys, p.v_seq, thread);
  }
  mma::cp_async_commit();

  std::uint32_t q_frag[Cfg::kQInRegisters ? kRowTiles : 1][Cfg::kQInRegisters ? kSlices : 1][4];
  float o[kRowTiles][kOutTiles][4];
#pragma unroll
  for (int rt = 0; rt < kRowTiles; ++rt) {
#pragma unroll
    for (int dt = 0; dt < kOutTiles; ++dt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        o[rt][dt][e] = 0.0f;
      }
    }
  }
  // Rows g and g + 8 of each row tile: the running max of the raw scores (no scores so far pass it by
  // more than kMaxGrowth / c), and this lane's part of the sum (the 4 lanes of a group are summed at the end).
  float row_max[kRowTiles][2];
  float row_sum[kRowTiles][2];
#pragma unroll
  for (int rt = 0; rt < kRowTiles; ++rt) {
    row_max[rt][0] = row_max[rt][1] = -INFINITY;
    row_sum[rt][0] = row_sum[rt][1] = 0.0f;
  }
  const float c = p.scale * kLog2e;

  for (int t = 0; t < tiles; ++t) {
    const int stage = t & 1;
    mma::cp_async_wait<0>();  // tile t (and, at t = 0, Q) has landed: this thread's copies ...
    __syncthreads();          // ... and everyone's; and every warp is done with tile t - 1
    if (t + 1 < tiles) {      // so tile t + 1 may overwrite it, while tile t is being used
      load_tile<kBlockK, kHeadDim, kPitch, Cfg::kThreads>(s.k[stage ^ 1], k, (t + 1) * kBlockK, p.keys, p.k_seq,
                                                          thread);
      load_tile<kBlockK, kHeadDim, kPitch, Cfg::kThreads>(s.v[stage ^ 1], v, (t + 1) * kBlockK, p.keys, p.v_seq,
                                                          thread);
      mma::cp_async_commit();
    }
    if (warp_has_queries) {
      if constexpr (Cfg::kQInRegisters) {
        if (t == 0) {
#pragma unroll
          for (int rt = 0; rt < kRowTiles; ++rt) {
#pragma unroll
            for (int kk = 0; kk < kSlices; ++kk) {
              load_q_fragment<Cfg>(q_frag[rt][kk], s.q, warp_row0 + rt * 16, kk, lane);
            }
          }
        }
      }

      // 1. S = Q Kᵀ ((16·kRowTiles) queries × kBlockK keys per warp).
      float score[kRowTiles][kScoreTiles][4];
#pragma unroll
      for (int rt = 0; rt < kRowTiles; ++rt) {
#pragma unroll
        for (int nt = 0; nt < kScoreTiles; ++nt) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            score[rt][nt][e] = 0.0f;
          }
        }
      }
      const std::uint16_t* k_tile = s.k[stage];
#pragma unroll
      for (int kk = 0; kk < kSlices; ++kk) {
        std::uint32_t a_frag[kRowTiles][4];
#pragma unroll
        for (int rt = 0; rt < kRowTiles; ++rt) {
          if constexpr (Cfg::kQInRegisters) {
#pragma unroll
            for (int r = 0; r < 4; ++r) {
              a_frag[rt][r] = q_frag[rt][kk][r];
            }
          } else {
            load_q_fragment<Cfg>(a_frag[rt], s.q, warp_row0 + rt * 16, kk, lane);
          }
        }
#pragma unroll
        for (int np = 0; np < kBlockK / 16; ++np) {
          const mma::RowCol b = mma::bt_address(lane);
          std::uint32_t frag[4];
          mma::ldmatrix_x4(frag, mma::shared_address(k_tile + (np * 16 + b.row) * kPitch + kk * 16 + b.col));
          mma_row_tiles<NT>(score, 2 * np, a_frag, frag);
        }
      }

      // 2. Mask (one test per tile when no key can be hidden), update the running max and sum, and
      //    turn S into P.
      const int key0 = t * kBlockK;
      if (p.causal || mask != nullptr || key0 + kBlockK > p.keys) {
#pragma unroll
        for (int rt = 0; rt < kRowTiles; ++rt) {
#pragma unroll
          for (int nt = 0; nt < kScoreTiles; ++nt) {
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              const mma::RowCol at = mma::accumulator(lane, e);
              const int key = key0 + nt * 8 + at.col;
              const int query = q0 + warp_row0 + rt * 16 + at.row;
              const bool visible = key < p.keys && (!p.causal || key <= query + causal_offset) &&
                                   (mask == nullptr || mask[key * p.mask_seq] != 0);
              if (!visible) {
                score[rt][nt][e] = -INFINITY;
              }
            }
          }
        }
      }
      float tile_max[kRowTiles][2];
      bool outgrown = false;  // does some row's tile max pass its running max by more than kMaxGrowth?
#pragma unroll
      for (int rt = 0; rt < kRowTiles; ++rt) {
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          float m = row_tree<kScoreTiles>(score[rt], r, [](float a, float b) { return fmaxf(a, b); });
          m = fmaxf(m, __shfl_xor_sync(0xFFFFFFFFu, m, 1));  // the 4 lanes of the group
          m = fmaxf(m, __shfl_xor_sync(0xFFFFFFFFu, m, 2));
          tile_max[rt][r] = m;
          outgrown = outgrown || c * (m - row_max[rt][r]) > kMaxGrowth;  // (true when m is a row's first finite max)
        }
      }
      // The running max moves, and O and l are rescaled, only when a row of the warp has outgrown it;
      // otherwise P ≤ 2^kMaxGrowth, harmless in f32 and in P's bf16/f16 rounding.
      if (__any_sync(0xFFFFFFFFu, outgrown)) {
#pragma unroll
        for (int rt = 0; rt < kRowTiles; ++rt) {
#pragma unroll
          for (int r = 0; r < 2; ++r) {
            const float new_max = fmaxf(row_max[rt][r], tile_max[rt][r]);
            const float correction =
                new_max == -INFINITY ? 1.0f : mma::exp2_approx(c * row_max[rt][r] - c * new_max);
            row_max[rt][r] = new_max;
            row_sum[rt][r] *= correction;
#pragma unroll
            for (int dt = 0; dt < kOutTiles; ++dt) {
              o[rt][dt][2 * r] *= correction;
              o[rt][dt][2 * r + 1] *= correction;
            }
          }
        }
      }
#pragma unroll
      for (int rt = 0; rt < kRowTiles; ++rt) {
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          // c·m, or 0 for a row with no visible key yet (its P and O stay 0: 2^(−inf) = 0).
          const float base = row_max[rt][r] == -INFINITY ? 0.0f : c * row_max[rt][r];
#pragma unroll
          for (int nt = 0; nt < kScoreTiles; ++nt) {
#pragma unroll
            for (int e = 2 * r; e < 2 * r + 2; ++e) {
              score[rt][nt][e] = mma::exp2_approx(fmaf(score[rt][nt][e], c, -base));
            }
          }
          row_sum[rt][r] += row_tree<kScoreTiles>(score[rt], r, [](float a, float b) { return a + b; });
        }
      }

      // 3. O += P V, P rounded from the score accumulators into A fragments (16 keys per step).
      std::uint32_t p_frag[kBlockK / 16][kRowTiles][4];
#pragma unroll
      for (int rt = 0; rt < kRowTiles; ++rt) {
#pragma unroll
        for (int kk = 0; kk < kBlockK / 16; ++kk) {
#pragma unroll
          for (int r = 0; r < 4; ++r) {
            const mma::AccumulatorPair from = mma::a_register_source(r);
            p_frag[kk][rt][r] = mma::pack2<NT>(score[rt][2 * kk + from.tile][from.e],
                                               score[rt][2 * kk + from.tile][from.e + 1]);
          }
        }
      }
      const std::uint16_t* v_tile = s.v[stage];
#pragma unroll
      for (int kk = 0; kk < kBlockK / 16; ++kk) {
#pragma unroll
        for (int dp = 0; dp < kHeadDim / 16; ++dp) {
          const mma::RowCol b = mma::b_trans_address(lane);
          std::uint32_t frag[4];
          mma::ldmatrix_x4_trans(frag, mma::shared_address(v_tile + (kk * 16 + b.row) * kPitch + dp * 16 + b.col));
          mma_row_tiles<NT>(o, 2 * dp, p_frag[kk], frag);
        }
      }
    }
  }
  mma::cp_async_wait<0>();  // (only the Q tile is still in flight when there was no key tile)

  NT* out = static_cast<NT*>(p.out) + batch * p.o_batch + head * p.o_head;
#pragma unroll
  for (int rt = 0; rt < kRowTiles; ++rt) {
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float sum = row_sum[rt][r];
      sum += __shfl_xor_sync(0xFFFFFFFFu, sum, 1);
      sum += __shfl_xor_sync(0xFFFFFFFFu, sum, 2);
      const float inv_sum = sum > 0.0f ? 1.0f / sum : 0.0f;  // a query that sees no key gets 0
      const mma::RowCol at = mma::accumulator(lane, 2 * r);
      const int query = q0 + warp_row0 + rt * 16 + at.row;
      if (query < p.queries) {
#pragma unroll
        for (int dt = 0; dt < kOutTiles; ++dt) {
          *reinterpret_cast<std::uint32_t*>(out + query * p.o_seq + dt * 8 + at.col) =
              mma::pack2<NT>(o[rt][dt][2 * r] * inv_sum, o[rt][dt][2 * r + 1] * inv_sum);
        }
      }
    }
  }
}

template <class NT, class Cfg>
__global__ void __launch_bounds__(Cfg::kThreads) flash_attention_kernel(AttentionParams p) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  auto& shared = *reinterpret_cast<typename Cfg::SharedStorage*>(shared_bytes);
  flash_attention_block<NT, Cfg>(p, shared, static_cast<int>(blockIdx.x), static_cast<int>(blockIdx.y),
                                 static_cast<int>(blockIdx.z), static_cast<int>(threadIdx.x));
}

}  // namespace internvl::cuda
