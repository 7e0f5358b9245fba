// How the cpu attention kernel cuts its work: block sizes, which key blocks a batch's key mask
// leaves visible, the split of the (batch, head, query block) items over the threads, and each
// thread's scratch, and the column blocks of a kernel's output rows. Nothing here computes
// attention; flash.hpp does, with these pieces.
//   items: (b, h, query block of kQueryBlock rows) in that order; keys stream in blocks of kKeyBlock.
//   A key block is skipped when the key mask hides all of it, or when causality hides it from
//   every query of the block.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

#include "internvl/core/tensor_view.hpp"
#include "internvl/core/workspace.hpp"

namespace internvl::cpu::attention {

inline constexpr index_t kKeyBlock = 128;        // keys per online-softmax step (row stride of the score tile)
inline constexpr index_t kDirectMaxQueries = 4;  // up to this many queries: no packing, dot products from K rows

constexpr index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }
constexpr index_t round_up(index_t a, index_t b) { return ceil_div(a, b) * b; }

// Queries that share each streamed key/value block: 48, rounded up to whole tiles of a kernel set
// (48 for tiles of 6, 12 or 16 queries, 64 for the amx set's 32).
template <class Kernels>
inline constexpr index_t kQueryBlock = round_up(48, Kernels::kTileRows);

// Calls block.template operator()<Vecs>(d) over the columns of rows `width` floats long (a multiple of
// Lanes): blocks of Vecs = 2 vectors starting at d, then one of Vecs = 1 for an odd last vector. The
// kernels' P · V keeps such a block of a tile's rows in registers.
template <index_t Lanes, class Block>
[[gnu::always_inline]] inline void for_column_blocks(index_t width, Block&& block) {
  index_t d = 0;
  for (; d + 2 * Lanes <= width; d += 2 * Lanes) {
    block.template operator()<2>(d);
  }
  if (d < width) {
    block.template operator()<1>(d);
  }
}

// The key mask digested once per call: per batch, a row of additive biases (0 visible, -inf
// hidden, padded with -inf to whole key blocks) and per key block whether none, some or all of
// its keys are visible. Without a key mask, bias is null and every block is fully visible.
struct KeyBlocks {
  enum Visibility : std::uint8_t { none = 0, some = 1, all = 2 };

  const float* bias = nullptr;          // [batch, blocks · kKeyBlock]
  const std::uint8_t* state = nullptr;  // [batch, blocks]
  index_t blocks = 0;

  Visibility visibility(index_t b, index_t block) const {
    return state == nullptr ? all : static_cast<Visibility>(state[b * blocks + block]);
  }
  // The bias of this block's keys, or null when none of them is hidden.
  const float* block_bias(index_t b, index_t block) const {
    return visibility(b, block) == all ? nullptr : bias + (b * blocks + block) * kKeyBlock;
  }
};

inline KeyBlocks classify_key_blocks(Workspace<>& ws, CView<std::uint8_t, 2> key_mask, index_t batch, index_t keys) {
  KeyBlocks kb;
  kb.blocks = ceil_div(keys, kKeyBlock);
  if (key_mask.data() == nullptr) {
    return kb;
  }
  float* bias = ws.allocate<float>(static_cast<std::size_t>(batch * kb.blocks * kKeyBlock));
  std::uint8_t* state = ws.allocate<std::uint8_t>(static_cast<std::size_t>(batch * kb.blocks));
  for (index_t b = 0; b < batch; ++b) {
    for (index_t block = 0; block < kb.blocks; ++block) {
      index_t visible = 0;
      for (index_t c = 0; c < kKeyBlock; ++c) {
        const index_t j = block * kKeyBlock + c;
        const bool shown = j < keys && key_mask(b, j) != 0;
        visible += shown ? 1 : 0;
        bias[(b * kb.blocks + block) * kKeyBlock + c] = shown ? 0.0f : -std::numeric_limits<float>::infinity();
      }
      const index_t in_block = std::min(kKeyBlock, keys - block * kKeyBlock);
      state[b * kb.blocks + block] = visible == 0          ? KeyBlocks::none
                                     : visible == in_block ? KeyBlocks::all
                                                           : KeyBlocks::some;
    }
  }
  kb.bias = bias;
  kb.state = state;
  return kb;
}

// The work items and their order; item = (b · heads + h) · query_blocks + query block.
struct WorkItems {
  index_t batch, heads, queries, keys;
  index_t block_rows;  // queries per item (kQueryBlock, or all of them on the direct path)
  index_t tile_rows;   // queries per register tile of the kernel
  bool causal;

  index_t query_blocks() const { return ceil_div(queries, block_rows); }
  index_t count() const { return batch * heads * query_blocks(); }

  // Keys [0, limit) may be visible to query i (causal: the queries are the last of the keys' positions).
  index_t key_limit(index_t i) const { return causal ? std::min(i + 1 + keys - queries, keys) : keys; }

  // Work of an item: register tiles times the key blocks they visit.
  index_t cost(index_t item, const KeyBlocks& kb) const {
    const index_t block = item % query_blocks();
    const index_t b = item / (heads * query_blocks());
    const index_t first = block * block_rows;
    const index_t rows = std::min(block_rows, queries - first);
    const index_t key_blocks = ceil_div(key_limit(first + rows - 1), kKeyBlock);
    index_t visited = 0;
    for (index_t kblock = 0; kblock < key_blocks; ++kblock) {
      visited += kb.visibility(b, kblock) != KeyBlocks::none ? 1 : 0;
    }
    return ceil_div(rows, tile_rows) * visited + 1;  // +1: packing and the final write cost something too
  }
};

// Splits the items into `parts` contiguous ranges of about equal cost: range t is
// [bounds[t], bounds[t + 1]). Contiguous, so that a thread meets each (b, h) in one stretch and
// packs its keys once.
inline void split_by_cost(const WorkItems& items, const KeyBlocks& kb, index_t parts, index_t* bounds) {
  const index_t n = items.count();
  index_t total = 0;
  for (index_t item = 0; item < n; ++item) {
    total += items.cost(item, kb);
  }
  bounds[0] = 0;
  index_t part = 1;
  index_t done = 0;
  for (index_t item = 0; item < n && part < parts; ++item) {
    done += items.cost(item, kb);
    while (part < parts && done * parts >= total * part) {
      bounds[part++] = item + 1;
    }
  }
  while (part <= parts) {
    bounds[part++] = n;
  }
}

// One thread's scratch, carved from the workspace before the threads start.
struct Scratch {
  float* keys_packed;    // [ceil(Sk / panel) panels][depth][panel keys] (packed path only)
  float* values_packed;  // [Sk][width] (packed path only)
  float* queries;        // packed path: tiles [tiles][depth / 4][tile rows][4]; direct path: [rows][width]
  float* scores;         // [tile rows][kKeyBlock]: the scores of one tile
  float* probabilities;  // [tile rows][kKeyBlock]: their probabilities, f32 or bf16 (the kernel set's layout)
  float* acc;            // [block rows][padded Dh]: the unnormalised output
  float* row_max;        // [block rows] running max of the scores (log2 units)
  float* row_sum;        // [block rows] running sum of the probabilities
  float* alpha;          // [block rows] rescale factor of the current key block
  index_t packed_tag;    // which (b · heads + h) the packed keys and values hold; -1: none

  static Scratch carve(Workspace<>& ws, index_t keys_packed, index_t values_packed, index_t query_floats,
                       index_t tile_rows, index_t block_rows, index_t padded_dim) {
    auto take = [&](index_t n) { return ws.allocate<float>(static_cast<std::size_t>(std::max<index_t>(n, 1))); };
    Scratch s;
    s.keys_packed = take(keys_packed);
    s.values_packed = take(values_packed);
    s.queries = take(query_floats);
    s.scores = take(tile_rows * kKeyBlock);
    s.probabilities = take(tile_rows * kKeyBlock);
    s.acc = take(block_rows * padded_dim);
    s.row_max = take(block_rows);
    s.row_sum = take(block_rows);
    s.alpha = take(block_rows);
    s.packed_tag = -1;
    return s;
  }
};

}  // namespace internvl::cpu::attention
