// AVX512-BF16 microkernel: an 8 × 48 tile of C in 24 zmm f32 accumulators, operands packed as bf16
// pairs (pack_bf16.hpp). Per pair of k (zmm_tile.hpp's pair_update): 3 loads of the packed B panel
// (16 columns × 2 k each), 8 broadcasts of an A row's pair, 24 vdpbf16ps, each lane adding
// a[k]·b[k] + a[k+1]·b[k+1] in f32.
// Where vdpbf16ps issues at the rate of an f32 FMA (Zen 4: one zmm per cycle) that is twice the
// multiply-adds per cycle of kernel_avx512.hpp; the register plan, prefetches (one slot per 4 pairs,
// i.e. per 8 k, as there) and epilogue (store_tile) are the f32 kernel's.
// Products of bf16 values are exact in f32; what differs from the f32 path is the rounding of the
// operands to bf16 and the order of the additions (pairs first).
// The kernel is its own, not the f32 one with another step: vdpbf16ps needs the avx512bf16 target,
// which the f32 path (run on AVX-512 CPUs without BF16) must not carry; the AVX-512 helpers it shares
// (store_tile, zmm_tile.hpp) have narrower targets and inline into it.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "internvl/backend/cpu/gemm/blocking.hpp"
#include "internvl/backend/cpu/gemm/kernel_avx512.hpp"
#include "internvl/backend/cpu/gemm/pack_bf16.hpp"
#include "internvl/backend/cpu/isa.hpp"
#include "internvl/backend/cpu/zmm_tile.hpp"

namespace internvl::cpu::packed::avx512_bf16 {

inline constexpr int kRows = 8;
inline constexpr int kVectors = 3;
inline constexpr int kCols = 16 * kVectors;

// Rows × (Vectors · 16) of the tile: Rows < kRows at the M edge, Vectors < kVectors at the N edge.
template <int Rows, int Vectors>
INTERNVL_TARGET_AVX512_BF16 void kernel(const MicroTile& t) {
  __m512 acc[Rows][Vectors];
  zmm_tile::zero(acc);
  const auto* a = static_cast<const std::int32_t*>(t.a);  // [pairs][kRows] words
  const auto* b = static_cast<const std::int32_t*>(t.b);  // [pairs][kCols] words
  const index_t pairs = (t.kc + 1) / 2;
  for (index_t p = 0; p < pairs; ++p) {
    zmm_tile::pair_update(acc, a, 1, b);
    a += kRows;
    b += kCols;
    if ((p & 3) == 3) {
      prefetch_slot<Rows, 16 * Vectors>(t, p >> 2);
    }
  }
  avx512::store_tile(acc, t);
}

inline constexpr KernelTable kTable = kernel_table<kRows, kVectors>([]<int R, int V>() { return &kernel<R, V>; });

// kc = 768: the A panel (8 × 768 bf16 = 12 KB), the B panel (48 × 768 bf16 = 72 KB) and the packed B
// block (768 × 240 bf16 = 360 KB) take the bytes that kc = 384 takes on the f32 path.
inline constexpr KernelSet kKernels{
    .name = "avx512_bf16",
    .mr = kRows,
    .nr = kCols,
    .lanes = 16,
    .kc = 768,
    .nc = 240,
    .k_step = 2,
    .element_bytes = 2,
    .pack_a = &pack_a_panel_bf16,
    .pack_b = {&pack_b_panel_bf16<float>, &pack_b_panel_bf16<bf16>, &pack_b_panel_bf16<f16>},
    .kernels = kTable};

}  // namespace internvl::cpu::packed::avx512_bf16
