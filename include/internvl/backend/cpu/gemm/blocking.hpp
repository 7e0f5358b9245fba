// Blocking of the packed GEMM C[M, N] = A[M, K] · B[N, K]ᵀ and the contract of its microkernels.
//   K is cut into blocks of kc, N into blocks of nc, and each (nc, kc) block of B is packed as
//   panels of nr columns; A is packed once per call as panels of mr rows. A micro-tile of C, mr × nr,
//   is accumulated in registers over one K block: kc · mr · nr multiply-adds per mr + nr values loaded.
// Packed layouts (64-byte aligned, k outermost inside a panel), in groups of k_step consecutive k:
//   f32 paths (k_step 1):  A (i, k) at k·mr + i;  B (j, k) at k·nr + j                (f32 elements)
//   bf16 path (k_step 2):  A (i, k) at (k/2)·mr·2 + 2i + k%2;  B (j, k) at (k/2)·nr·2 + 2j + k%2
//                          (bf16 elements: each 32-bit word is a pair of consecutive k, the operand
//                          of one vdpbf16ps lane); an odd K is padded with a zero k
// i and j count from the panel's first row / column; rows past M and columns past N are zero.
// Each path (kernel_avx512.hpp, kernel_avx512_bf16.hpp, kernel_avx2.hpp) provides a KernelSet.
#pragma once

#include <array>
#include <cstddef>

#include "internvl/core/dtype.hpp"
#include "internvl/core/tensor_view.hpp"

namespace internvl::cpu::packed {

// The largest micro-tile of any path.
inline constexpr int kMaxTileRows = 8;
inline constexpr int kMaxTileVectors = 3;
inline constexpr int kMaxTileCols = 48;

// One micro-tile: C[0:rows, 0:nr] (=|+=) A panel · B panel, then the epilogue (last K block only).
struct MicroTile {
  const void* a = nullptr;  // packed A panel
  const void* b = nullptr;  // packed B panel
  float* c = nullptr;       // the tile's first element; rows are ldc apart, nr columns are written
  index_t ldc = 0;
  index_t kc = 0;               // may be 0 (K = 0): the tile is then bias / activation only
  bool accumulate = false;      // add to C (a later K block) instead of overwriting it
  const float* bias = nullptr;  // nr values added after the last K block, or nullptr
  bool gelu = false;            // exact-erf GELU after the bias (last K block only)
  // Source rows of B that the next block will pack: the kernel prefetches (into L2) line l of each
  // of these rows after k-step 8l + 7 (k-pair 4l + 3 on the bf16 path), so that memory latency
  // hides behind its multiply-adds.
  const std::byte* prefetch = nullptr;
  index_t prefetch_stride = 0;  // bytes from one row to the next
  int prefetch_rows = 0;
  int prefetch_lines = 0;  // cache lines per row
};

// Computes a tile of a fixed number of rows and column vectors (template parameters inside).
using MicroKernel = void (*)(const MicroTile&);
using KernelTable = std::array<std::array<MicroKernel, kMaxTileVectors>, kMaxTileRows>;

// Packs rows [0, rows) × k [0, kc) of A (f32, row stride lda) as one panel of mr rows.
using PackA = void (*)(const float* a, index_t lda, int rows, index_t kc, int mr, void* dst);
// Packs columns [0, cols) × k [0, kc) of B (row stride ldb, in the stored dtype) as one panel of nr columns.
using PackB = void (*)(const void* b, index_t ldb, index_t cols, index_t kc, int nr, void* dst);

struct KernelSet {
  int mr = 0;                     // micro-tile rows
  int nr = 0;                     // micro-tile columns (a multiple of 8: B packing transposes 8 × 8 blocks)
  int lanes = 0;                  // f32 lanes per vector register; nr / lanes vectors per row
  index_t kc = 0;                 // K block (a multiple of k_step): one A panel and the B panel streaming past it
  index_t nc = 0;                 // N block, a multiple of nr: the packed B block stays in L2
  int k_step = 1;                 // consecutive k packed together (2: bf16 pairs)
  int element_bytes = 4;          // bytes of a packed element
  PackA pack_a = nullptr;         // A panels
  std::array<PackB, 3> pack_b{};  // B panels from weights stored as f32, bf16, f16 (pack_b_for)
  KernelTable kernels{};          // kernels[rows - 1][vectors - 1]: smaller tiles for the M and N edges

  PackB pack_b_for(DType stored) const { return pack_b[stored == DType::f32 ? 0 : stored == DType::bf16 ? 1 : 2]; }
  // Bytes of a packed panel of `lines` rows (A) or columns (B) over kc values of k.
  index_t panel_bytes(index_t lines, index_t kc) const {
    return (kc + k_step - 1) / k_step * k_step * lines * element_bytes;
  }
};

constexpr index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }

}  // namespace internvl::cpu::packed
