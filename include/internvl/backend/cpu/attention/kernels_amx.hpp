// The attention micro-kernels with both products on AMX tiles (TDPBF16PS, f32 accumulation), for a
// context in bf16 precision on the amx path when the head dim is a multiple of 32 (one A-tile row
// holds 32 dimensions). Tiles of 32 queries, two A tiles tall, so that both products keep four
// accumulator tiles (2 × 2, as the GEMM's kernel does) and use every loaded tile twice: four
// independent chains of TDPBF16PS instead of two. Everything else (softmax, running max / sum, the
// direct path for a few queries, key panels and value pairs) is the bf16 kernel set's
// (kernels_avx512_bf16.hpp), whose layouts are already what the B tiles read:
//   query tiles  qp[t·32·depth + (d/32)·1024 + 32r + d%32] = bf16(factor · Q[32t + r][d])  (A tiles)
//   key panels   16 pairs of dimensions × 16 keys of a 32-key panel, rows 128 bytes apart   (B tiles)
//   values       16 pairs of keys × 16 dimensions, rows 4·width bytes apart                  (B tiles)
//   P            [keys/32][32][32] bf16, written so by softmax_tile                          (A tiles)
// scores_packed:  S[32 × 16·Vecs] = Qt · Kpᵀ: 2·Vecs accumulator tiles; per 32 dimensions two A tiles
//                 (rows 0-15, 16-31), Vecs B tiles and 2·Vecs TDPBF16PS; stored straight into the
//                 score tile.
// accumulate:     O = α ⊙ O (AVX-512; rows with α = 1 skipped), then per 32 dimensions four
//                 accumulator tiles loaded from O, per 32 keys two A tiles of P, two B tiles of V, four
//                 TDPBF16PS, stored back. A last chunk of fewer than 32 keys reads its value pairs
//                 from a zero-padded copy, so no pair past the head's last key (scratch memory) meets a
//                 zero probability.
// Tile roles and instructions are amx_tiles.hpp's; the kernels are templated on them (Tiles) so that
// tests run them on the emulator. thread_begin / thread_end (called by flash.hpp around a thread's
// items) load and release the tile configuration.
#pragma once

#include "internvl/backend/cpu/attention/kernels_avx512.hpp"  // defines INTERNVL_ATTENTION_AVX512 where it applies

#if defined(INTERNVL_ATTENTION_AVX512)

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "internvl/backend/cpu/attention/kernels_avx512_bf16.hpp"
#include "internvl/backend/cpu/gemm/amx_tiles.hpp"
#include "internvl/backend/cpu/isa.hpp"

namespace internvl::cpu::attention {

template <class Tiles>
struct AmxKernels : Avx512Bf16Kernels {
  static constexpr index_t kTileHeight = packed::amx::kTileRows;  // rows of every AMX tile
  static constexpr index_t kTileRows = 2 * kTileHeight;           // queries per tile of these kernels
  static constexpr index_t kChunk = packed::amx::kTileK;          // dimensions or keys per A-tile row
  static constexpr index_t kRowBytes = packed::amx::kTileBytes;
  static constexpr index_t kChunkElements = kTileRows * kChunk;  // a query tile's (or P's) 32 dims (keys)

  // Whether these kernels serve a head dim.
  static constexpr bool fits(index_t head_dim) { return head_dim % kChunk == 0; }

  static void thread_begin() { Tiles::configure(); }
  static void thread_end() { Tiles::release(); }

  // Rows `first ..` of head h of q, times factor, as tiles of 32 rows: per 32 dimensions, 32 rows of
  // 32 bf16, i.e. the A tiles of rows 0-15 and 16-31 one after the other (depth is the head dim, a
  // multiple of 32).
  template <index_t TileRows>
  INTERNVL_TARGET_AVX512_BF16 static void pack_query_tiles(const CView<float, 4>& q, index_t b, index_t h,
                                                           index_t first, index_t rows, float factor, index_t depth,
                                                           Packed* qp) {
    static_assert(TileRows == kTileRows);
    const index_t head_dim = q.size(3);
    for (index_t i = 0; i < round_up(rows, kTileRows); ++i) {
      Packed* tile = qp + (i / kTileRows) * depth * kTileRows;
      if (i + kPrefetchRows < rows) {
        prefetch_row(row_of(q, b, first + i + kPrefetchRows, h), head_dim);
      }
      const float* row = i < rows ? row_of(q, b, first + i, h) : nullptr;
      for (index_t d = 0; d < depth; d += kChunk) {
        const __m512i values =
            row != nullptr ? avx512_bf16::load32_as_pairs(row + d, head_dim - d, factor) : _mm512_setzero_si512();
        _mm512_storeu_si512(tile + d / kChunk * kChunkElements + i % kTileRows * kChunk, values);
      }
    }
  }

  // s[r · kKeyBlock + c] = Σ_d Q[r][d] · K[c][d] for r < 32, c < 16 · Vecs, over a query tile and a
  // key panel: accumulators C(half, v) for the two halves of the rows and Vecs tiles of 16 keys.
  template <int Vecs>
  INTERNVL_TARGET_AMX static void scores_packed(const Packed* qp, const Packed* kp, index_t depth, float* s) {
    constexpr index_t panel_row_bytes = kPanelKeys * 4;  // a pair of dimensions for 32 keys
    const auto* q = reinterpret_cast<const std::byte*>(qp);
    const auto* k = reinterpret_cast<const std::byte*>(kp);
    for_accumulators<Vecs>([]<int Half, int V>() INTERNVL_TARGET_AMX { Tiles::template zero_c<Half, V>(); });
    for (index_t d = 0; d < depth; d += kChunk) {
      const std::byte* q_chunk = q + d * kTileRows * 2;
      Tiles::template load_a<0>(q_chunk, kRowBytes);
      Tiles::template load_a<1>(q_chunk + kTileHeight * kRowBytes, kRowBytes);
      const std::byte* k_rows = k + d / 2 * panel_row_bytes;
      Tiles::template load_b<0>(k_rows, panel_row_bytes);
      if constexpr (Vecs == 2) {
        Tiles::template load_b<1>(k_rows + kRowBytes, panel_row_bytes);
      }
      for_accumulators<Vecs>([]<int Half, int V>() INTERNVL_TARGET_AMX { Tiles::template multiply_add<Half, V>(); });
    }
    for_accumulators<Vecs>([&]<int Half, int V>() INTERNVL_TARGET_AMX {
      Tiles::template store_c<Half, V>(s + Half * kTileHeight * kKeyBlock + V * 16, kKeyBlock * 4);
    });
  }

  using Avx512Kernels::softmax_tile;  // f32 probabilities, for the direct path

  // The online-softmax step of a tile's rows, P written as the A tiles of P · V: per 32 keys, 32 rows
  // of 32 bf16 (the tiles of rows 0-15 and 16-31). Sixteen rows at a time, one per lane.
  template <int Rows>
  INTERNVL_TARGET_AVX512_BF16 static void softmax_tile(const float* s, const float* bias, const index_t* visible,
                                                       index_t cols, float* row_max, float* row_sum, float* alpha,
                                                       Packed* p) {
    static_assert(Rows == kTileRows);
    for (index_t r = 0; r < kTileRows; r += kTileHeight) {
      softmax_tile_bf16<kTileHeight, kChunk, kChunkElements>(s + r * kKeyBlock, bias, visible + r, cols, row_max + r,
                                                             row_sum + r, alpha + r, p + r * kChunk);
    }
  }

  // o[r · width + d] = alpha[r] · o[..] + Σ_{j < keys} P[r][j] · V[j][d] for r < 32, d < width (a
  // multiple of 32), with P as softmax_tile wrote it: per 32 output dimensions, four accumulators
  // (two halves of the rows × two tiles of 16 dimensions), loaded from O and stored back.
  template <int Rows>
  INTERNVL_TARGET_AMX static void accumulate(const Packed* p, const Packed* vp, index_t keys, float* o, index_t width,
                                             const float* alpha) {
    static_assert(Rows == kTileRows);
    const index_t chunks = ceil_div(keys, kChunk);
    for (index_t r = 0; r < kTileRows; ++r) {
      if (alpha[r] == 1.0f) {  // the row's max did not move (2^0 is exactly 1): nothing to rescale
        continue;
      }
      const __m512 scale = _mm512_set1_ps(alpha[r]);
      for (index_t d = 0; d < width; d += 16) {
        _mm512_storeu_ps(o + r * width + d, _mm512_mul_ps(scale, _mm512_loadu_ps(o + r * width + d)));
      }
    }
    const index_t o_stride = width * 4, v_stride = width * 4;  // bytes of an O row, of a pair row of V
    const index_t full_chunks = keys / kChunk;
    alignas(64) std::byte tail[kTileHeight][2 * kRowBytes];  // a last, short chunk's value pairs, zero-padded
    for (index_t d = 0; d < width; d += 2 * 16) {
      auto o_tile = [&]<int Half, int V>() { return o + Half * kTileHeight * width + d + V * 16; };
      for_accumulators<2>([&]<int Half, int V>() INTERNVL_TARGET_AMX {
        Tiles::template load_c<Half, V>(o_tile.template operator()<Half, V>(), o_stride);
      });
      const auto* v = reinterpret_cast<const std::byte*>(vp + 2 * d);  // pair row 0, dimension d
      for (index_t c = 0; c < chunks; ++c) {
        Tiles::template load_a<0>(p + c * kChunkElements, kRowBytes);
        Tiles::template load_a<1>(p + c * kChunkElements + kTileHeight * kChunk, kRowBytes);
        const std::byte* v_rows = v + c * kTileHeight * v_stride;
        index_t stride = v_stride;
        if (c == full_chunks) {
          const index_t pairs = (keys - c * kChunk + 1) / 2;
          std::memset(tail, 0, sizeof(tail));
          for (index_t j = 0; j < pairs; ++j) {
            std::memcpy(tail[j], v_rows + j * v_stride, sizeof(tail[j]));
          }
          v_rows = tail[0];
          stride = sizeof(tail[0]);
        }
        Tiles::template load_b<0>(v_rows, stride);
        Tiles::template load_b<1>(v_rows + kRowBytes, stride);
        for_accumulators<2>([]<int Half, int V>() INTERNVL_TARGET_AMX { Tiles::template multiply_add<Half, V>(); });
      }
      for_accumulators<2>([&]<int Half, int V>() INTERNVL_TARGET_AMX {
        Tiles::template store_c<Half, V>(o_tile.template operator()<Half, V>(), o_stride);
      });
    }
  }

 private:
  // f.template operator()<Half, V>() for the accumulators of both halves of the rows and V < Vecs, in
  // the order C(0, 0), C(1, 0), C(0, 1), C(1, 1): tiles of the same B (keys or dimensions) together.
  template <int Vecs, class F>
  [[gnu::always_inline]] static void for_accumulators(F&& f) {
    f.template operator()<0, 0>();
    f.template operator()<1, 0>();
    if constexpr (Vecs == 2) {
      f.template operator()<0, 1>();
      f.template operator()<1, 1>();
    }
  }
};

}  // namespace internvl::cpu::attention

#endif
