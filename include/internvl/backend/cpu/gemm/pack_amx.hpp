// Packing for the GEMM's amx path (layouts in blocking.hpp), operands rounded to bf16 (round to
// nearest even) as on the bf16 path:
//   pack_a_panel_amx:     A rows [rows][kc] f32 (row stride lda) -> [kc/32][mr][32] bf16: for each 32 k,
//                         the mr rows one after the other, each one 64-byte A-tile row (amx_tiles.hpp),
//                         so a 16-row A tile is 1 KB of contiguous memory
//   pack_b_panel_amx<T>:  B rows [cols][kc] -> [kc/2][nr] pairs, the bf16 path's layout (a B tile is 16
//                         of its pair rows, 16 columns wide), continued with zero pairs up to a
//                         multiple of 32 k
// Rows past `rows`, columns past `cols` and k past kc are zero; nothing past a source row is read.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "internvl/backend/cpu/gemm/amx_tiles.hpp"
#include "internvl/backend/cpu/gemm/pack_bf16.hpp"
#include "internvl/backend/cpu/isa.hpp"

namespace internvl::cpu::packed {

INTERNVL_TARGET_AVX512_BF16 inline void pack_a_panel_amx(const float* a, index_t lda, int rows, index_t kc, int mr,
                                                         void* out) {
  auto* dst = static_cast<std::byte*>(out);
  const index_t chunks = (kc + amx::kTileK - 1) / amx::kTileK;
  for (int i = 0; i < mr; ++i) {
    const float* row = a + i * lda;
    for (index_t q = 0; q < chunks; ++q) {
      const index_t k0 = q * amx::kTileK;
      __m256 low = _mm256_setzero_ps(), high = _mm256_setzero_ps();  // k0 + [0, 16), k0 + [16, 32)
      if (i < rows) {
        low = detail::load16_as_pairs(row + k0, kc - k0);
        if (kc - k0 > 16) {
          high = detail::load16_as_pairs(row + k0 + 16, kc - k0 - 16);
        }
      }
      float* tile_row = reinterpret_cast<float*>(dst + (q * mr + i) * amx::kTileBytes);
      _mm256_storeu_ps(tile_row, low);
      _mm256_storeu_ps(tile_row + 8, high);
    }
  }
}

template <class T>
INTERNVL_TARGET_AVX512_BF16 void pack_b_panel_amx(const void* source, index_t ldb, index_t cols, index_t kc, int nr,
                                                  void* out) {
  pack_b_panel_bf16<T>(source, ldb, cols, kc, nr, out);
  const index_t pairs = (kc + 1) / 2;
  const index_t padded_pairs = (kc + amx::kTileK - 1) / amx::kTileK * (amx::kTileK / 2);
  std::memset(static_cast<std::uint32_t*>(out) + pairs * nr, 0,
              static_cast<std::size_t>((padded_pairs - pairs) * nr) * sizeof(std::uint32_t));
}

}  // namespace internvl::cpu::packed
