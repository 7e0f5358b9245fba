// Fused attention, flash-attention style, over a kernel set (kernels_avx512.hpp, kernels_avx512_bf16.hpp,
// kernels_amx.hpp, kernels_portable.hpp).
// For a block of queries, key/value blocks stream past while each query row keeps, in f32,
//   m = running max of its scores,  l = running Σ 2^(s − m),  O = running Σ 2^(s − m) · v;
// a new key block with max m' rescales the old state by α = 2^(m − m') before adding its own terms
// (the kernel set's softmax_tile advances the state of a tile's rows and writes P in the element type
// of its P · V: f32, or bf16 for the bf16 products),
// and the answer is O / l (0 when l = 0: the query saw no key). Scores are kept in log2 units
// (Q is pre-multiplied by scale · log2 e) so that 2^x replaces e^x. Only a tile of scores
// [tile rows × kKeyBlock] ever exists, never the Sq × Sk matrix.
// Two paths: for more than kDirectMaxQueries queries, K of one (b, h) is packed into panels of
// keys side by side, V into dense rows and Q into tiles of rows (packing.hpp), so both products
// are register-blocked GEMMs over contiguous memory; the kernel set packs them (its element type
// Kernels::Packed: f32, or bf16 pairs for the bf16 products). For a few queries (attention pooling), where
// packing would cost as much as the products, K and V rows are read once, in place: the scores
// are dot products along Dh and P · V adds scaled V rows to the few output rows.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <type_traits>

#include "internvl/backend/cpu/attention/packing.hpp"
#include "internvl/backend/cpu/attention/plan.hpp"
#include "internvl/backend/cpu/context.hpp"
#include "internvl/ops/attention.hpp"

namespace internvl::cpu::attention {

// Everything an item needs to know about the call.
struct Problem {
  View<float, 4> out;
  CView<float, 4> q, k, v;
  WorkItems items;
  KeyBlocks key_blocks;
  index_t head_dim;
  index_t depth;   // head_dim rounded up to kDepthStep: the depth of packed query tiles and key panels
  index_t width;   // head_dim rounded up to whole vectors: the row length of packed rows and accumulators
  float q_factor;  // scale · log2 e
};

// One item: query block `block` of (b, h), all its key blocks, the normalised output.
template <class Kernels, int TileRows, bool Direct>
void process_item(const Problem& pb, Scratch& scratch, index_t item) {
  const WorkItems& items = pb.items;
  const index_t block = item % items.query_blocks();
  const index_t bh = item / items.query_blocks();
  const index_t b = bh / items.heads, h = bh % items.heads;
  const index_t first = block * items.block_rows;
  const index_t rows = std::min(items.block_rows, items.queries - first);
  const index_t tiles = ceil_div(rows, TileRows);
  const index_t depth = pb.depth, width = pb.width;

  // The packed path's operands, in the kernel set's element type (the scratch is sized in floats,
  // which is enough for either).
  using Packed = typename Kernels::Packed;
  auto* queries = reinterpret_cast<Packed*>(scratch.queries);
  auto* keys_packed = reinterpret_cast<Packed*>(scratch.keys_packed);
  auto* values_packed = reinterpret_cast<Packed*>(scratch.values_packed);
  if constexpr (Direct) {
    pack_rows(pb.q, b, h, first, rows, pb.q_factor, width, scratch.queries);
  } else {
    if (scratch.packed_tag != bh) {
      Kernels::pack_key_panels(row_of(pb.k, b, 0, h), pb.k.stride(1), items.keys, pb.head_dim, depth, keys_packed);
      Kernels::pack_values(pb.v, b, h, items.keys, width, values_packed);
      scratch.packed_tag = bh;
    }
    Kernels::template pack_query_tiles<TileRows>(pb.q, b, h, first, rows, pb.q_factor, depth, queries);
  }
  std::fill_n(scratch.acc, tiles * TileRows * width, 0.0f);
  std::fill_n(scratch.row_max, tiles * TileRows, -std::numeric_limits<float>::infinity());
  std::fill_n(scratch.row_sum, tiles * TileRows, 0.0f);

  const index_t key_blocks = ceil_div(items.key_limit(first + rows - 1), kKeyBlock);
  for (index_t kblock = 0; kblock < key_blocks; ++kblock) {
    if (pb.key_blocks.visibility(b, kblock) == KeyBlocks::none) {
      continue;
    }
    const index_t c0 = kblock * kKeyBlock;
    const index_t block_keys = std::min(kKeyBlock, items.keys - c0);
    const float* bias = pb.key_blocks.block_bias(b, kblock);
    for (index_t t = 0; t < tiles; ++t) {
      const index_t t_first = t * TileRows;
      const index_t t_rows = std::min<index_t>(TileRows, rows - t_first);
      // Keys of this block that some row of the tile may see (causality trims the tail).
      const index_t cols = std::min(block_keys, items.key_limit(first + t_first + t_rows - 1) - c0);
      if (cols <= 0) {
        continue;
      }
      float* s = scratch.scores;
      if constexpr (Direct) {
        Kernels::template scores_direct<TileRows>(scratch.queries, width, row_of(pb.k, b, c0, h), pb.k.stride(1), cols,
                                                  pb.head_dim, s);
      } else {
        const Packed* qp = queries + t * depth * TileRows;
        for (index_t pc = 0; pc < cols; pc += Kernels::kPanelKeys) {
          const Packed* kp = keys_packed + (c0 + pc) * depth;
          if (cols - pc > Kernels::kLanes) {
            Kernels::template scores_packed<2>(qp, kp, depth, s + pc);
          } else {  // the CLS token's lone key in a last block, say: half a panel is enough
            Kernels::template scores_packed<1>(qp, kp, depth, s + pc);
          }
        }
      }
      index_t visible[TileRows];  // keys of this block that row r sees (rows past the last query: none)
      for (index_t r = 0; r < TileRows; ++r) {
        visible[r] = r < t_rows ? std::clamp<index_t>(items.key_limit(first + t_first + r) - c0, 0, block_keys) : 0;
      }
      using Probability = std::conditional_t<Direct, float, Packed>;  // the direct path's P · V is in f32
      auto* p = reinterpret_cast<Probability*>(scratch.probabilities);
      Kernels::template softmax_tile<TileRows>(s, bias, visible, cols, scratch.row_max + t_first,
                                               scratch.row_sum + t_first, scratch.alpha + t_first, p);
      if constexpr (Direct) {
        Kernels::template accumulate_direct<TileRows>(p, row_of(pb.v, b, c0, h), pb.v.stride(1), cols, scratch.acc,
                                                      width, scratch.alpha, pb.head_dim);
      } else {
        Kernels::template accumulate<TileRows>(p, values_packed + c0 * width, cols, scratch.acc + t_first * width,
                                               width, scratch.alpha + t_first);
      }
    }
  }

  for (index_t r = 0; r < rows; ++r) {
    const float sum = scratch.row_sum[r];
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    const float* acc = scratch.acc + r * width;
    float* dst = &pb.out(b, first + r, h, 0);
    for (index_t d = 0; d < pb.head_dim; ++d) {
      dst[d] = acc[d] * inv;
    }
  }
}

// Runs every item over the thread pool with kernel set `Kernels`; shapes are already checked.
template <class Kernels, int TileRows, bool Direct>
void run_items(Context<backend::cpu>& ctx, const Problem& pb) {
  Workspace<>& ws = ctx.workspace();
  const index_t parts = std::min<index_t>(ctx.pool().size(), pb.items.count());
  index_t* bounds = ws.allocate<index_t>(static_cast<std::size_t>(parts + 1));
  split_by_cost(pb.items, pb.key_blocks, parts, bounds);
  Scratch* scratch = ws.allocate<Scratch>(static_cast<std::size_t>(parts));
  const index_t keys_packed = Direct ? 0 : round_up(pb.items.keys, Kernels::kPanelKeys) * pb.depth;
  const index_t values_packed = Direct ? 0 : pb.items.keys * pb.width;
  const index_t query_floats = Direct ? TileRows * pb.width : pb.items.block_rows * pb.depth;
  for (index_t t = 0; t < parts; ++t) {
    scratch[t] = Scratch::carve(ws, keys_packed, values_packed, query_floats, TileRows,
                                round_up(pb.items.block_rows, TileRows), pb.width);
  }
  ctx.pool().run(parts, [&](index_t t) {
    if constexpr (requires { Kernels::thread_begin(); }) {  // a kernel set with per-thread state (AMX tiles)
      Kernels::thread_begin();
    }
    for (index_t item = bounds[t]; item < bounds[t + 1]; ++item) {
      process_item<Kernels, TileRows, Direct>(pb, scratch[t], item);
    }
    if constexpr (requires { Kernels::thread_end(); }) {
      Kernels::thread_end();
    }
  });
}

template <class Kernels>
void flash_attention(Context<backend::cpu>& ctx, View<float, 4> out, CView<float, 4> q, CView<float, 4> k,
                     CView<float, 4> v, const ops::AttentionOptions& options) {
  static_assert(kKeyBlock % Kernels::kPanelKeys == 0 && kKeyBlock % Kernels::kLanes == 0);
  if (out.empty()) {
    return;
  }
  const index_t queries = q.size(1);
  const bool direct = queries <= kDirectMaxQueries;
  static_assert(kDirectMaxQueries == 4, "the switch below instantiates the direct path for 1 to 4 queries");
  auto scope = ctx.workspace().scope();
  Problem pb{out,
             q,
             k,
             v,
             WorkItems{q.size(0), q.size(2), queries, k.size(1), direct ? queries : kQueryBlock<Kernels>,
                       direct ? queries : Kernels::kTileRows, options.causal},
             classify_key_blocks(ctx.workspace(), options.key_mask, q.size(0), k.size(1)),
             q.size(3),
             round_up(q.size(3), kDepthStep),
             round_up(q.size(3), Kernels::kLanes),
             options.scale * std::numbers::log2e_v<float>};
  switch (direct ? queries : 0) {
    case 1:
      return run_items<Kernels, 1, true>(ctx, pb);
    case 2:
      return run_items<Kernels, 2, true>(ctx, pb);
    case 3:
      return run_items<Kernels, 3, true>(ctx, pb);
    case 4:
      return run_items<Kernels, 4, true>(ctx, pb);
    default:
      return run_items<Kernels, Kernels::kTileRows, false>(ctx, pb);
  }
}

}  // namespace internvl::cpu::attention
