// A software model of the AMX instructions the amx GEMM path uses, with the interface of
// cpu::packed::amx::HardwareTiles (amx_tiles.hpp), so the path's packing, tiling, edges and epilogue
// run and are checked on CPUs without AMX. Written from the Intel SDM, except for TDPBF16PS's order of
// additions, which follows what the hardware does (below):
//   LDTILECFG    each tile t gets rows[t] rows of bytes_per_row[t] bytes; palette 1
//   TILELOADD    row r of tile t <- bytes_per_row[t] bytes at base + r·stride
//   TILESTORED   the reverse
//   TILEZERO     every byte of the tile 0
//   TDPBF16PS    for m < rows(C), n < bytes_per_row(C)/4, with K = bytes_per_row(A)/4 pairs:
//                  even = Σ_k f32(A[m].bf16[2k])   · f32(B[k].bf16[2n])     k = 0, 1, ..., K-1 in turn
//                  odd  = Σ_k f32(A[m].bf16[2k+1]) · f32(B[k].bf16[2n+1])
//                  C[m].f32[n] += (even + odd)
//                every addition rounded to f32 (nearest even; the bf16 products are exact in f32), bf16
//                denormals read as zero (DAZ), denormal results flushed to zero (FTZ). The SDM's
//                pseudo-code instead adds the products into C one by one (k outer, the pair's two in
//                turn); a Sapphire-Rapids-class Xeon disagrees with it in ~37% of the elements, and
//                agrees with the two sums above in every bit of 153,600 recorded results
//                (scripts/record_tdpbf16ps.cpp; a sample is tests/golden/amx, checked by test_gemm_amx).
//   TILERELEASE  tiles back to the initial state: unconfigured
// Every thread has its own tile state, as on the hardware. What the hardware would fault on (a tile
// instruction before LDTILECFG, shapes of C, A and B that do not fit) throws std::logic_error here.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "internvl/backend/cpu/gemm/amx_tiles.hpp"

namespace internvl::testing {

struct EmulatedTiles {
  using TileConfig = cpu::packed::amx::TileConfig;
  static constexpr int kTiles = 8;
  static constexpr int kMaxRows = 16, kMaxRowBytes = 64;

  struct State {
    bool configured = false;
    TileConfig config;
    std::array<std::array<std::uint8_t, kMaxRows * kMaxRowBytes>, kTiles> tiles{};
  };

  // This thread's tile registers.
  static State& state() {
    thread_local State s;
    return s;
  }

  static void load_config(const TileConfig& config) {
    if (config.palette != 1) {
      throw std::logic_error("amx emulator: only palette 1 is modelled");
    }
    for (int t = 0; t < kTiles; ++t) {
      if (config.rows[t] > kMaxRows || config.bytes_per_row[t] > kMaxRowBytes) {
        throw std::logic_error("amx emulator: tile " + std::to_string(t) + " is larger than 16 rows of 64 bytes");
      }
    }
    State& s = state();
    s.config = config;
    s.configured = true;
    s.tiles = {};
  }
  static void configure() { load_config(cpu::packed::amx::kTileConfig); }
  static void release() { state() = State{}; }

  static void load(int t, const void* base, std::int64_t stride) {
    std::uint8_t* tile = configured_tile(t);
    const auto* src = static_cast<const std::uint8_t*>(base);
    for (int r = 0; r < rows(t); ++r) {
      std::memcpy(tile + r * kMaxRowBytes, src + r * stride, static_cast<std::size_t>(row_bytes(t)));
    }
  }
  static void store(int t, void* base, std::int64_t stride) {
    const std::uint8_t* tile = configured_tile(t);
    auto* dst = static_cast<std::uint8_t*>(base);
    for (int r = 0; r < rows(t); ++r) {
      std::memcpy(dst + r * stride, tile + r * kMaxRowBytes, static_cast<std::size_t>(row_bytes(t)));
    }
  }
  static void zero(int t) { std::memset(configured_tile(t), 0, kMaxRows * kMaxRowBytes); }

  static void dpbf16ps(int c, int a, int b) {
    std::uint8_t* dst = configured_tile(c);
    const std::uint8_t* lhs = configured_tile(a);
    const std::uint8_t* rhs = configured_tile(b);
    const int m_count = rows(c), n_count = row_bytes(c) / 4, k_count = row_bytes(a) / 4;
    if (rows(a) != m_count || rows(b) != k_count || row_bytes(b) != row_bytes(c)) {
      throw std::logic_error("amx emulator: tdpbf16ps on tiles whose shapes do not fit");
    }
    float b_values[kMaxRows][2 * kMaxRowBytes / 4];  // B[k].bf16[j], widened
    for (int k = 0; k < k_count; ++k) {
      for (int j = 0; j < 2 * n_count; ++j) {
        b_values[k][j] = bf16_daz(rhs + k * kMaxRowBytes + 2 * j);
      }
    }
    for (int m = 0; m < m_count; ++m) {
      float a_values[2 * kMaxRowBytes / 4];  // A[m].bf16[j], widened
      for (int j = 0; j < 2 * k_count; ++j) {
        a_values[j] = bf16_daz(lhs + m * kMaxRowBytes + 2 * j);
      }
      float row[kMaxRowBytes / 4];
      std::memcpy(row, dst + m * kMaxRowBytes, sizeof(row));
      for (int n = 0; n < n_count; ++n) {
        float even = -0.0f, odd = -0.0f;  // -0: the sum of no products, and x + -0 = x for every x
        for (int k = 0; k < k_count; ++k) {
          even = flush_denormal(std::fma(a_values[2 * k], b_values[k][2 * n], even));
          odd = flush_denormal(std::fma(a_values[2 * k + 1], b_values[k][2 * n + 1], odd));
        }
        row[n] = flush_denormal(row[n] + flush_denormal(even + odd));
      }
      std::memcpy(dst + m * kMaxRowBytes, row, sizeof(row));
    }
  }

  // The interface of HardwareTiles, with its tile roles.
  template <int R>
  static void load_a(const void* p, std::int64_t stride) {
    load(cpu::packed::amx::a_tile(R), p, stride);
  }
  template <int C>
  static void load_b(const void* p, std::int64_t stride) {
    load(cpu::packed::amx::b_tile(C), p, stride);
  }
  template <int R, int C>
  static void load_c(const void* p, std::int64_t stride) {
    load(cpu::packed::amx::c_tile(R, C), p, stride);
  }
  template <int R, int C>
  static void zero_c() {
    zero(cpu::packed::amx::c_tile(R, C));
  }
  template <int R, int C>
  static void multiply_add() {
    dpbf16ps(cpu::packed::amx::c_tile(R, C), cpu::packed::amx::a_tile(R), cpu::packed::amx::b_tile(C));
  }
  template <int R, int C>
  static void store_c(void* p, std::int64_t stride) {
    store(cpu::packed::amx::c_tile(R, C), p, stride);
  }

 private:
  static std::uint8_t* configured_tile(int t) {
    State& s = state();
    if (!s.configured) {
      throw std::logic_error("amx emulator: tile instruction before LDTILECFG (or after TILERELEASE)");
    }
    if (t < 0 || t >= kTiles) {
      throw std::logic_error("amx emulator: no tile register " + std::to_string(t));
    }
    return s.tiles[static_cast<std::size_t>(t)].data();
  }
  static int rows(int t) { return state().config.rows[t]; }
  static int row_bytes(int t) { return state().config.bytes_per_row[t]; }

  static float bf16_daz(const std::uint8_t* p) {
    std::uint16_t bits = 0;
    std::memcpy(&bits, p, sizeof(bits));
    const float v = std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
    return flush_denormal(v);
  }
  static float flush_denormal(float v) { return std::fpclassify(v) == FP_SUBNORMAL ? std::copysign(0.0f, v) : v; }
};

}  // namespace internvl::testing
