// Blocking of the packed GEMM C[M, N] = A[M, K] · B[N, K]ᵀ and the contract of its microkernels.
//   K is cut into blocks of kc, N into blocks of nc, and each (nc, kc) block of B is packed as
//   panels of nr columns; A is packed once per call as panels of mr rows. A micro-tile of C, mr × nr,
//   is accumulated in registers over one K block: kc · mr · nr multiply-adds per mr + nr values loaded.
// Packed layouts (64-byte aligned, k outermost inside a panel), in groups of k_step consecutive k:
//   f32 paths (k_step 1):  A (i, k) at k·mr + i;  B (j, k) at k·nr + j                (f32 elements)
//   bf16 path (k_step 2):  A (i, k) at (k/2)·mr·2 + 2i + k%2;  B (j, k) at (k/2)·nr·2 + 2j + k%2
//                          (bf16 elements: each 32-bit word is a pair of consecutive k, the operand
//                          of one vdpbf16ps lane); an odd K is padded with a zero k
//   amx path (k_step 32):  A (i, k) at (k/32)·mr·32 + 32i + k%32 (bf16: a 64-byte tile row per row
//                          and 32 k);  B as on the bf16 path; K is padded with zeros to a multiple of 32
// i and j count from the panel's first row / column; rows past M and columns past N are zero.
// Each path (kernel_avx512.hpp, kernel_avx512_bf16.hpp, kernel_avx2.hpp, kernel_amx.hpp) provides a
// KernelSet: a table of register-tile kernels built by kernel_table, or (amx) one kernel for every
// tile; the prefetches the register-tile kernels issue are prefetch_slot's.
#pragma once

#include <xmmintrin.h>

#include <array>
#include <cstddef>
#include <utility>

#include "internvl/core/dtype.hpp"
#include "internvl/core/tensor_view.hpp"

namespace internvl::cpu::packed {

// The largest micro-tile of any path.
inline constexpr int kMaxTileRows = 8;
inline constexpr int kMaxTileVectors = 3;
inline constexpr int kMaxTileCols = 48;

// One micro-tile: C[0:rows, 0:nr] (=|+=) A panel · B panel, with the epilogue applied to the product p
// of the K block in this order:  p (+ bias) (⊙ scale) (+ C) (then GELU)  -> C.
struct MicroTile {
  const void* a = nullptr;  // packed A panel
  const void* b = nullptr;  // packed B panel
  float* c = nullptr;       // the tile's first element; rows are ldc apart, nr columns are written
  index_t ldc = 0;
  index_t kc = 0;               // may be 0 (K = 0): the tile is then bias / activation only
  bool accumulate = false;      // add to C (a later K block) instead of overwriting it
  const float* bias = nullptr;   // nr values added after the last K block, or nullptr
  const float* scale = nullptr;  // nr values multiplying every K block's product (and the bias), or
                                 // nullptr: a layer scale γ, with C holding the residual it is added to
  bool gelu = false;             // exact-erf GELU after the bias (last K block only)
  // Source rows of B that the next block will pack: the kernel prefetches (into L2) line l of each
  // of these rows after k-step 8l + 7 (k-pair 4l + 3 on the bf16 path), so that memory latency
  // hides behind its multiply-adds.
  const std::byte* prefetch = nullptr;
  index_t prefetch_stride = 0;  // bytes from one row to the next
  int prefetch_rows = 0;
  int prefetch_lines = 0;  // cache lines per row
  int rows = 0;            // rows of C in the tile (<= mr), for a kernel serving every tile size
  int cols = 0;            // columns of C in the tile (<= nr), likewise
};

// Computes a tile of a fixed number of rows and column vectors (template parameters inside).
using MicroKernel = void (*)(const MicroTile&);
using KernelTable = std::array<std::array<MicroKernel, kMaxTileVectors>, kMaxTileRows>;

// Packs rows [0, rows) × k [0, kc) of A (f32, row stride lda) as one panel of mr rows.
using PackA = void (*)(const float* a, index_t lda, int rows, index_t kc, int mr, void* dst);
// Packs columns [0, cols) × k [0, kc) of B (row stride ldb, in the stored dtype) as one panel of nr columns.
using PackB = void (*)(const void* b, index_t ldb, index_t cols, index_t kc, int nr, void* dst);

struct KernelSet {
  const char* name = "";          // the instruction set of the kernels, as INTERNVL_CPU_ISA names it
  int mr = 0;                     // micro-tile rows
  int row_unit = 1;               // M is spread over the A panels in units of this many rows
  int nr = 0;                     // micro-tile columns (a multiple of 8: B packing transposes 8 × 8 blocks)
  int lanes = 0;                  // f32 lanes per vector register; nr / lanes vectors per row
  index_t kc = 0;                 // K block (a multiple of k_step): one A panel and the B panel streaming past it
  index_t nc = 0;                 // N block, a multiple of nr: the packed B block stays in L2
  int k_step = 1;                 // consecutive k packed together (2: bf16 pairs)
  int element_bytes = 4;          // bytes of a packed element
  PackA pack_a = nullptr;         // A panels
  std::array<PackB, 3> pack_b{};  // B panels from weights stored as f32, bf16, f16 (pack_b_for)
  KernelTable kernels{};          // kernels[rows - 1][vectors - 1]: smaller tiles for the M and N edges
  MicroKernel tile_kernel = nullptr;  // if set, the kernel of every tile instead (MicroTile::rows, cols)
  void (*thread_begin)() = nullptr;   // if set, run on a thread before its first tile of a product
  void (*thread_end)() = nullptr;     // and after its last (amx: load the tile configuration, release it)

  PackB pack_b_for(DType stored) const { return pack_b[stored == DType::f32 ? 0 : stored == DType::bf16 ? 1 : 2]; }
  // Bytes of a packed panel of `lines` rows (A) or columns (B) over kc values of k.
  index_t panel_bytes(index_t lines, index_t kc) const {
    return (kc + k_step - 1) / k_step * k_step * lines * element_bytes;
  }
};

constexpr index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }

// The table of a path whose largest tile is Rows × Vectors: kernels[r - 1][v - 1] is
// pick.operator()<r, v>(), the kernel of r rows and v vectors; the entries past the path's tile stay null.
template <int Rows, int Vectors, class Pick>
constexpr KernelTable kernel_table(Pick pick) {
  KernelTable table{};
  const auto fill = [&]<int... I>(std::integer_sequence<int, I...>) {
    ((table[I / Vectors][I % Vectors] = pick.template operator()<I / Vectors + 1, I % Vectors + 1>()), ...);
  };
  fill(std::make_integer_sequence<int, Rows * Vectors>{});
  return table;
}

// The prefetches a tile of Rows rows and Cols columns issues after its group `slot` of 8 k-steps
// (4 bf16 pairs): each 64-byte line of C row `slot` (needed by the epilogue), and line `slot` of each
// source row of the next B block (MicroTile::prefetch). Plain SSE, so every path's kernel inlines it.
template <int Rows, int Cols>
[[gnu::always_inline]] inline void prefetch_slot(const MicroTile& t, index_t slot) {
  if (slot < Rows) {
    for (int col = 0; col < Cols; col += 16) {
      _mm_prefetch(reinterpret_cast<const char*>(t.c + slot * t.ldc + col), _MM_HINT_T0);
    }
  }
  if (slot < t.prefetch_lines) {
    for (int r = 0; r < t.prefetch_rows; ++r) {
      _mm_prefetch(reinterpret_cast<const char*>(t.prefetch + r * t.prefetch_stride + slot * 64), _MM_HINT_T1);
    }
  }
}

}  // namespace internvl::cpu::packed
