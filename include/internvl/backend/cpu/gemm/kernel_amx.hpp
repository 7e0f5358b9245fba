// AMX-BF16 kernel: a 32 × 32 tile of C in four 16 × 16 accumulator tiles, operands packed as bf16
// (pack_amx.hpp). Per 32 k: two A tiles (16 rows × 32 k, 1 KB each, contiguous in the packed A
// panel), two B tiles (16 pairs of k × 16 columns, rows 128 bytes apart in the packed B panel), four
// TDPBF16PS (amx_tiles.hpp), each 16 · 16 · 32 multiply-adds in f32.
// The accumulators always start at zero. In the first K block a whole 32 × 32 tile without bias,
// scale or GELU goes straight from them to C (tile stores). Any other tile is stored to a 32 × 32 f32
// buffer on the stack, and the epilogue goes from there to C with masked AVX-512 stores: + bias,
// ⊙ scale, + C (later K blocks, or the residual), GELU (the AVX-512 kernel's), only the tile's rows and
// columns. Later K blocks add C there rather than tile-loading it into the accumulators before the
// products: the accumulators are not renamed, so such a load waits for the previous tile's stores and
// its misses (64 lines of a C that left L1, and L2 too for M × nc blocks past L2's size) stall the tile
// unit, while the epilogue reads lines that prefetch_slot fetched during the products. So one kernel
// serves every tile: at an edge, rows and columns past M and N are zeros of the packing, and tiles
// wholly past them (the second row or column of tiles) are skipped. Per tile it also prefetches the
// lines of C (all 32 rows by the last chunk of k) and of the next B block's source rows
// (prefetch_slot), at least two slots per 32 k.
// Templated on the tile instructions (Tiles): HardwareTiles in the library, an emulation in the tests.
// K blocks of 1024 (A panel 64 KB, from L2) and N blocks of 256 (packed B block 512 KB, in the 2 MB
// L2), measured on an AMX Xeon (docs/gemm.md, "The amx path"): fewer K blocks mean fewer passes of the
// epilogue over C, which outweighs the A panel leaving the 48 KB L1D. With weights packed once, two
// threads and medians of 7, they ran 16 / 10 / -1 / 18% faster than K and N blocks of 512 at the four
// InternViT shapes; kc 2048 and 4096 (one K block) were no better. bench_gemm's BM_microkernel (over
// kc), BM_gemm_bf16c_blocking (kc x nc, one thread) and BM_gemm_amx_blocking (two threads) measure the
// alternatives.
#pragma once

#include <immintrin.h>

#include <algorithm>

#include "internvl/backend/cpu/gemm/amx_tiles.hpp"
#include "internvl/backend/cpu/gemm/blocking.hpp"
#include "internvl/backend/cpu/gemm/kernel_avx512.hpp"
#include "internvl/backend/cpu/gemm/pack_amx.hpp"
#include "internvl/backend/cpu/isa.hpp"

namespace internvl::cpu::packed::amx {

inline constexpr int kRows = 2 * kTileRows;
inline constexpr int kCols = 2 * kTileCols;

// The four accumulator tiles as one row-major f32 block, kCols wide.
struct TileBlock {
  alignas(64) float values[kRows * kCols];
};

// Calls op.template operator()<r, c>() for the accumulator tiles C(r, c) in use, r < RowTiles, c < ColTiles.
template <int RowTiles, int ColTiles, class Op>
[[gnu::always_inline]] inline void for_each_c_tile(Op&& op) {
  op.template operator()<0, 0>();
  if constexpr (ColTiles == 2) {
    op.template operator()<0, 1>();
  }
  if constexpr (RowTiles == 2) {
    op.template operator()<1, 0>();
    if constexpr (ColTiles == 2) {
      op.template operator()<1, 1>();
    }
  }
}

// The order in which a chunk of 32 k issues its tile loads and TDPBF16PS. Tile registers are not
// renamed: a load into A(r) or B(c) waits until every earlier product that reads the register is done
// with it, and a product waits for its loads. How much of that waiting the TMUL unit hides is measured,
// not known (bench_gemm's BM_microkernel/amx_*), so the kernel is written for each order:
//   loads_first  A(0) A(1) B(0) B(1), then C(0,0) C(0,1) C(1,0) C(1,1)
//   interleaved  A(0) B(0) C(0,0) B(1) C(0,1) A(1) C(1,0) C(1,1): each load just before its first reader
//   pipelined    the next chunk's A(r) right after its last reader C(r,1), B(c) right after C(1,c), so
//                each load has the rest of this chunk's products to complete behind
enum class TileSchedule { loads_first, interleaved, pipelined };

// out = the tile's A panel · B panel, RowTiles × ColTiles accumulator tiles of 16 × 16 floats at out
// (rows out_stride bytes apart), the loads and products in Schedule's order. The lambdas carry the
// target too, so that the tile instructions inline into them.
template <class Tiles, TileSchedule Schedule, int RowTiles, int ColTiles>
INTERNVL_TARGET_AMX void multiply_tiles(const MicroTile& t, float* out, index_t out_stride) {
  const auto c_tile_at = [&](int r, int c) { return out + r * kTileRows * (out_stride / 4) + c * kTileCols; };
  const auto* a = static_cast<const std::byte*>(t.a);  // [chunks][kRows] tile rows of 64 bytes
  const auto* b = static_cast<const std::byte*>(t.b);  // [chunks · 16][kCols] pairs
  constexpr index_t b_stride = kCols * 4;              // bytes between pair rows of B
  constexpr index_t b_chunk = kTileK / 2 * b_stride;   // bytes of 32 k of B
  const index_t chunks = (t.kc + kTileK - 1) / kTileK;
  const auto load_a = [&]<int R>(index_t q) INTERNVL_TARGET_AMX {
    Tiles::template load_a<R>(a + (q * kRows + R * kTileRows) * kTileBytes, kTileBytes);
  };
  const auto load_b = [&]<int C>(index_t q) INTERNVL_TARGET_AMX {
    Tiles::template load_b<C>(b + q * b_chunk + C * kTileBytes, b_stride);
  };
  const auto load_chunk = [&](index_t q) INTERNVL_TARGET_AMX {
    load_a.template operator()<0>(q);
    if constexpr (RowTiles == 2) {
      load_a.template operator()<1>(q);
    }
    load_b.template operator()<0>(q);
    if constexpr (ColTiles == 2) {
      load_b.template operator()<1>(q);
    }
  };
  // prefetch_slot's slots spread over the chunks: every row of C before the epilogue, at any kc.
  const index_t slots_per_chunk = std::max<index_t>(2, (kRows + chunks - 1) / std::max<index_t>(chunks, 1));
  for_each_c_tile<RowTiles, ColTiles>([&]<int R, int C>() INTERNVL_TARGET_AMX { Tiles::template zero_c<R, C>(); });
  if constexpr (Schedule == TileSchedule::pipelined) {
    if (chunks > 0) {
      load_chunk(0);
    }
  }
  for (index_t q = 0; q < chunks; ++q) {
    if constexpr (Schedule == TileSchedule::loads_first) {
      load_chunk(q);
    }
    for_each_c_tile<RowTiles, ColTiles>([&]<int R, int C>() INTERNVL_TARGET_AMX {
      if constexpr (Schedule == TileSchedule::interleaved) {
        if constexpr (C == 0) {
          load_a.template operator()<R>(q);
        }
        if constexpr (R == 0) {
          load_b.template operator()<C>(q);
        }
      }
      Tiles::template multiply_add<R, C>();
      if constexpr (Schedule == TileSchedule::pipelined) {
        if (q + 1 < chunks) {
          if constexpr (C == ColTiles - 1) {
            load_a.template operator()<R>(q + 1);
          }
          if constexpr (R == RowTiles - 1) {
            load_b.template operator()<C>(q + 1);
          }
        }
      }
    });
    for (index_t slot = q * slots_per_chunk; slot < (q + 1) * slots_per_chunk; ++slot) {
      prefetch_slot<kRows, kCols>(t, slot);
    }
  }
  for_each_c_tile<RowTiles, ColTiles>(
      [&]<int R, int C>() INTERNVL_TARGET_AMX { Tiles::template store_c<R, C>(c_tile_at(R, C), out_stride); });
}

// C[0:rows, 0:cols] (=|+=) the block, + bias, ⊙ scale, GELU (MicroTile's epilogue).
INTERNVL_TARGET_AVX512 inline void store_block(const TileBlock& block, const MicroTile& t) {
  for (int i = 0; i < t.rows; ++i) {
    float* c = t.c + i * t.ldc;
    for (int j = 0; j < t.cols; j += 16) {
      const int left = t.cols - j;
      const auto mask = static_cast<__mmask16>(left >= 16 ? 0xFFFFu : (1u << left) - 1u);
      __m512 x = _mm512_load_ps(block.values + i * kCols + j);
      if (t.bias != nullptr) {
        x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, t.bias + j));
      }
      if (t.scale != nullptr) {
        x = _mm512_mul_ps(x, _mm512_maskz_loadu_ps(mask, t.scale + j));
      }
      if (t.accumulate) {
        x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, c + j));
      }
      if (t.gelu) {
        x = avx512::gelu(x);
      }
      _mm512_mask_storeu_ps(c + j, mask, x);
    }
  }
}

template <class Tiles, TileSchedule Schedule>
void tile(const MicroTile& t) {
  if (!t.accumulate && t.rows == kRows && t.cols == kCols && t.bias == nullptr && t.scale == nullptr && !t.gelu) {
    multiply_tiles<Tiles, Schedule, 2, 2>(t, t.c, t.ldc * 4);
    return;
  }
  TileBlock block;
  constexpr index_t block_stride = kCols * 4;
  if (t.rows > kTileRows) {
    if (t.cols > kTileCols) {
      multiply_tiles<Tiles, Schedule, 2, 2>(t, block.values, block_stride);
    } else {
      multiply_tiles<Tiles, Schedule, 2, 1>(t, block.values, block_stride);
    }
  } else if (t.cols > kTileCols) {
    multiply_tiles<Tiles, Schedule, 1, 2>(t, block.values, block_stride);
  } else {
    multiply_tiles<Tiles, Schedule, 1, 1>(t, block.values, block_stride);
  }
  store_block(block, t);
}

// The schedule the library runs; the others are built by bench_gemm and the tests only.
inline constexpr TileSchedule kDefaultSchedule = TileSchedule::loads_first;

template <class Tiles, TileSchedule Schedule = kDefaultSchedule>
constexpr KernelSet kernel_set() {
  return KernelSet{.name = "amx",
                   .mr = kRows,
                   .row_unit = kTileRows,
                   .nr = kCols,
                   .lanes = kTileCols,
                   .kc = 1024,
                   .nc = 256,
                   .k_step = kTileK,
                   .element_bytes = 2,
                   .pack_a = &pack_a_panel_amx,
                   .pack_b = {&pack_b_panel_amx<float>, &pack_b_panel_amx<bf16>, &pack_b_panel_amx<f16>},
                   .kernels = {},
                   .tile_kernel = &tile<Tiles, Schedule>,
                   .thread_begin = &Tiles::configure,
                   .thread_end = &Tiles::release};
}

inline constexpr KernelSet kKernels = kernel_set<HardwareTiles>();

}  // namespace internvl::cpu::packed::amx
