// The AMX tile instructions the amx GEMM path uses (Intel SDM vol. 2, "TDPBF16PS"; ISE ch. 3), and
// the roles its kernel (kernel_amx.hpp) gives the eight tile registers:
//   A(r)    tmm4 + r   16 rows of A × 32 bf16 of k (64 bytes a row)                 r = 0, 1
//   B(c)    tmm6 + c   16 pairs of k × 16 columns, a pair of bf16 per column (64 B)  c = 0, 1
//   C(r, c) tmm0 + 2r + c   16 × 16 f32 accumulators
// TDPBF16PS C, A, B:  C[m][n] += A[m][2k]·B[k][2n] + A[m][2k+1]·B[k][2n+1], k < 16, in f32 (each
// product exact, each addition rounded to nearest even; bf16 denormals read as zero, denormal results
// flushed to zero), i.e. a 16 × 32 by 32 × 16 product whose B operand holds k in pairs.
// kTileConfig gives all eight tiles 16 rows of 64 bytes (palette 1); edges are zero-padded by
// packing, so one configuration serves every tile.
// HardwareTiles is the instruction layer of the library (the GEMM's kernel_amx.hpp, attention's
// kernels_amx.hpp); tests put an emulation of the same instructions (tests/support/amx_emulator.hpp)
// in its place to check the kernels on CPUs without AMX.
// The tile instructions are written as asm statements, with the tile number an immediate operand
// (GCC's intrinsics take only a literal, and do not tell the compiler that loads and stores touch
// memory; these say so with "memory" clobbers). Only LDTILECFG and TILERELEASE use the intrinsics.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "internvl/backend/cpu/isa.hpp"
#include "internvl/core/tensor_view.hpp"

namespace internvl::cpu::packed::amx {

inline constexpr int kTileRows = 16;   // rows of every tile
inline constexpr int kTileBytes = 64;  // bytes of every tile row
inline constexpr int kTileK = 32;      // k of one A tile row (32 bf16), 16 pairs of B tile rows
inline constexpr int kTileCols = 16;   // f32 columns of an accumulator tile

constexpr int a_tile(int r) { return 4 + r; }
constexpr int b_tile(int c) { return 6 + c; }
constexpr int c_tile(int r, int c) { return 2 * r + c; }

// The 64-byte operand of LDTILECFG.
struct TileConfig {
  std::uint8_t palette = 1;
  std::uint8_t start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t bytes_per_row[16] = {};
  std::uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64);

inline constexpr TileConfig kTileConfig = [] {
  TileConfig config;
  for (int t = 0; t < 8; ++t) {
    config.bytes_per_row[t] = kTileBytes;
    config.rows[t] = kTileRows;
  }
  return config;
}();

struct HardwareTiles {
  INTERNVL_TARGET_AMX static void configure() { _tile_loadconfig(&kTileConfig); }
  INTERNVL_TARGET_AMX static void release() { _tile_release(); }

  template <int R>
  static void load_a(const void* p, index_t stride) {
    load<a_tile(R)>(p, stride);
  }
  template <int C>
  static void load_b(const void* p, index_t stride) {
    load<b_tile(C)>(p, stride);
  }
  template <int R, int C>
  static void load_c(const void* p, index_t stride) {
    load<c_tile(R, C)>(p, stride);
  }
  template <int R, int C>
  static void zero_c() {
    __asm__ volatile("tilezero %%tmm%c0" : : "i"(c_tile(R, C)));
  }
  // C(R, C) += A(R) · B(C); AT&T order: B, A, C (Intel syntax: tdpbf16ps C, A, B).
  template <int R, int C>
  static void multiply_add() {
    __asm__ volatile("{tdpbf16ps %%tmm%c0, %%tmm%c1, %%tmm%c2|tdpbf16ps %%tmm%c2, %%tmm%c1, %%tmm%c0}"
                     :
                     : "i"(b_tile(C)), "i"(a_tile(R)), "i"(c_tile(R, C)));
  }
  template <int R, int C>
  static void store_c(void* p, index_t stride) {
    __asm__ volatile("{tilestored %%tmm%c0, (%1,%2,1)|tilestored [%1+%2*1], %%tmm%c0}"
                     :
                     : "i"(c_tile(R, C)), "r"(p), "r"(stride)
                     : "memory");
  }

 private:
  // The "memory" clobbers make the compiler finish stores before a load and re-read memory after a store.
  template <int Tile>
  static void load(const void* p, index_t stride) {
    __asm__ volatile("{tileloadd (%1,%2,1), %%tmm%c0|tileloadd %%tmm%c0, [%1+%2*1]}"
                     :
                     : "i"(Tile), "r"(p), "r"(stride)
                     : "memory");
  }
};

}  // namespace internvl::cpu::packed::amx
