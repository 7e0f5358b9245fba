// Blocking of the packed GEMM C[M, N] = A[M, K] · B[N, K]ᵀ and the contract of its microkernels.
//   K is cut into blocks of kc, N into blocks of nc, and each (nc, kc) block of B is packed as f32
//   panels of nr columns; A is packed once per call as panels of mr rows. A micro-tile of C, mr × nr,
//   is accumulated in registers over one K block: kc · mr · nr FMAs per mr + nr floats loaded.
// Packed layouts (f32, 64-byte aligned, k outermost inside a panel):
//   A panel (rows i0 .. i0+mr, K block k0 .. k0+kc): element (i, k) at k·mr + (i − i0)
//   B panel (cols j0 .. j0+nr, K block k0 .. k0+kc): element (j, k) at k·nr + (j − j0), zero past N
// Each instruction-set path (kernel_avx512.hpp, kernel_avx2.hpp) provides a KernelSet.
#pragma once

#include <array>
#include <cstddef>

#include "internvl/core/tensor_view.hpp"

namespace internvl::cpu::packed {

// The largest micro-tile of any path.
inline constexpr int kMaxTileRows = 8;
inline constexpr int kMaxTileVectors = 3;
inline constexpr int kMaxTileCols = 48;

// One micro-tile: C[0:rows, 0:nr] (=|+=) A panel · B panel, then the epilogue.
struct MicroTile {
  const float* a = nullptr;  // packed A panel, [kc][mr]
  const float* b = nullptr;  // packed B panel, [kc][nr]
  float* c = nullptr;        // the tile's first element; rows are ldc apart, nr columns are written
  index_t ldc = 0;
  index_t kc = 0;               // may be 0 (K = 0): the tile is then bias / activation only
  bool accumulate = false;      // add to C (a later K block) instead of overwriting it
  const float* bias = nullptr;  // nr values added after the last K block, or nullptr
  bool gelu = false;            // exact-erf GELU after the bias (last K block only)
  // Source rows of B that the next block will pack: the kernel prefetches (into L2) line l of each
  // of these rows after k-iteration 8l + 7, so that memory latency hides behind its FMAs.
  const std::byte* prefetch = nullptr;
  index_t prefetch_stride = 0;  // bytes from one row to the next
  int prefetch_rows = 0;
  int prefetch_lines = 0;  // cache lines per row
};

// Computes a tile of a fixed number of rows and column vectors (template parameters inside).
using MicroKernel = void (*)(const MicroTile&);
using KernelTable = std::array<std::array<MicroKernel, kMaxTileVectors>, kMaxTileRows>;

struct KernelSet {
  int mr = 0;             // micro-tile rows
  int nr = 0;             // micro-tile columns (a multiple of 8: B packing transposes 8 × 8 blocks)
  int lanes = 0;          // floats per vector register; nr / lanes vectors per row
  index_t kc = 0;         // K block: one A panel (kc·mr floats) and the B panel streaming past it
  index_t nc = 0;         // N block, a multiple of nr: the packed B block (kc·nc floats) stays in L2
  KernelTable kernels{};  // kernels[rows - 1][vectors - 1]: smaller tiles for the M and N edges
};

constexpr index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }

}  // namespace internvl::cpu::packed
