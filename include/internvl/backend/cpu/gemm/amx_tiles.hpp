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
// GCC's tile intrinsics are asm statements that name their tile in the instruction text (so the
// tile numbers below are literals) and do not tell the compiler that they read or write memory: each
// load and store here is fenced by a compiler barrier, so that packing before a load and reading
// after a store are not reordered around it.
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
  INTERNVL_TARGET_AMX static void load_a(const void* p, index_t stride) {
    compiler_barrier();
    if constexpr (R == 0) {
      _tile_loadd(4, p, stride);
    } else {
      _tile_loadd(5, p, stride);
    }
  }
  template <int C>
  INTERNVL_TARGET_AMX static void load_b(const void* p, index_t stride) {
    compiler_barrier();
    if constexpr (C == 0) {
      _tile_loadd(6, p, stride);
    } else {
      _tile_loadd(7, p, stride);
    }
  }
  template <int R, int C>
  INTERNVL_TARGET_AMX static void load_c(const void* p, index_t stride) {
    compiler_barrier();
    if constexpr (c_tile(R, C) == 0) {
      _tile_loadd(0, p, stride);
    } else if constexpr (c_tile(R, C) == 1) {
      _tile_loadd(1, p, stride);
    } else if constexpr (c_tile(R, C) == 2) {
      _tile_loadd(2, p, stride);
    } else {
      _tile_loadd(3, p, stride);
    }
  }
  template <int R, int C>
  INTERNVL_TARGET_AMX static void zero_c() {
    if constexpr (c_tile(R, C) == 0) {
      _tile_zero(0);
    } else if constexpr (c_tile(R, C) == 1) {
      _tile_zero(1);
    } else if constexpr (c_tile(R, C) == 2) {
      _tile_zero(2);
    } else {
      _tile_zero(3);
    }
  }
  // C(R, C) += A(R) · B(C)
  template <int R, int C>
  INTERNVL_TARGET_AMX static void multiply_add() {
    if constexpr (c_tile(R, C) == 0) {
      _tile_dpbf16ps(0, 4, 6);
    } else if constexpr (c_tile(R, C) == 1) {
      _tile_dpbf16ps(1, 4, 7);
    } else if constexpr (c_tile(R, C) == 2) {
      _tile_dpbf16ps(2, 5, 6);
    } else {
      _tile_dpbf16ps(3, 5, 7);
    }
  }
  template <int R, int C>
  INTERNVL_TARGET_AMX static void store_c(void* p, index_t stride) {
    if constexpr (c_tile(R, C) == 0) {
      _tile_stored(0, p, stride);
    } else if constexpr (c_tile(R, C) == 1) {
      _tile_stored(1, p, stride);
    } else if constexpr (c_tile(R, C) == 2) {
      _tile_stored(2, p, stride);
    } else {
      _tile_stored(3, p, stride);
    }
    compiler_barrier(p);
  }

 private:
  // p's memory (and any other) may have changed: the compiler may neither keep values of it in
  // registers across the barrier nor move stores to it past the barrier.
  static void compiler_barrier(const void* p = nullptr) { __asm__ volatile("" : : "r"(p) : "memory"); }
};

}  // namespace internvl::cpu::packed::amx
