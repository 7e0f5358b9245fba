// The blocked loops of the GEMM that one thread runs (layouts and block sizes in blocking.hpp):
//   for each N block (nc columns of its range)
//     for each K block (kc):  pack the B block (nc × kc, stays in L2); the micro-tiles below
//                             prefetch the next block's source rows, so packing rarely waits on memory
//       for each A panel (mr rows, packed once per call by pack_a)
//         for each B panel (nr columns):  micro-tile, accumulating into C after the first K block
// M is spread evenly over the A panels; N edges use kernels of fewer vectors (and a local tile when
// N ends inside a vector), unless the path has one kernel for every tile (amx), which is told the
// tile's rows and columns. Bias and GELU are applied in the last K block; a layer scale (residual
// form, C = C + γ ⊙ (A·Bᵀ + bias)) to every K block's product, each added to C.
// Buffers are bytes: the paths pack f32 or bf16.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "internvl/backend/cpu/gemm/blocking.hpp"
#include "internvl/backend/cpu/gemm/pack.hpp"
#include "internvl/backend/cpu/row_norm.hpp"

namespace internvl::cpu::packed {

// One matrix of the batch, as the packing and tile loops see it.
struct Operands {
  index_t m = 0, n = 0, k = 0;
  const float* a = nullptr;
  index_t lda = 0;
  RowNorm a_norm = {};           // A's rows normalized over K before they are packed, if a_norm.weight is set
  const std::byte* b = nullptr;  // element (j, k) at b + (j·ldb + k)·b_size
  index_t ldb = 0;
  index_t b_size = 0;
  PackB pack_b = nullptr;  // the kernel set's packer for B's stored dtype
  const std::byte* b_prepacked = nullptr;  // or all of B already packed (prepack.hpp): no packing per call
  float* c = nullptr;
  index_t ldc = 0;
  const float* bias = nullptr;
  const float* scale = nullptr;  // [N]: C += scale ⊙ (A·Bᵀ + bias), C holding the residual; or nullptr
  bool gelu = false;
};

struct Range {
  index_t begin = 0, end = 0;
};

// Part i of [0, n) cut into `parts` contiguous ranges of nearly equal length.
inline Range part(index_t n, index_t parts, index_t i) {
  const index_t base = n / parts, extra = n % parts;
  const index_t begin = i * base + std::min(i, extra);
  return {begin, begin + base + (i < extra ? 1 : 0)};
}

inline index_t k_blocks(const KernelSet& ks, index_t k) { return std::max<index_t>(1, ceil_div(k, ks.kc)); }

// Where the K block at k0 of panel j lies in prepacked panels of B with K = k (prepack.hpp).
inline index_t prepacked_offset(const KernelSet& ks, index_t k, index_t j, index_t k0) {
  return j * ks.panel_bytes(ks.nr, k) + ks.panel_bytes(ks.nr, k0);
}

// The rows of A panel i: M is spread evenly over ceil(M / mr) panels, in whole units of row_unit
// rows (257 rows, 8-row panels: 26 of 8 and 7 of 7, not 32 of 8 and one of 1, which would run at a
// fraction of the FMA rate; 32-row AMX panels in 16-row tiles: 8 of 32 and one of 1, computing 272
// rows, where 9 panels of 28-29 rows would compute 288).
inline Range panel_rows(const KernelSet& ks, index_t m, index_t i) {
  const Range units = part(ceil_div(m, ks.row_unit), ceil_div(m, ks.mr), i);
  return {units.begin * ks.row_unit, std::min(units.end * ks.row_unit, m)};
}

// Bytes of packed A for all its panels and K blocks.
inline index_t packed_a_bytes(const KernelSet& ks, index_t m, index_t k) {
  return ks.panel_bytes(ceil_div(m, ks.mr) * ks.mr, k);
}

// Packed A panel i of the K block starting at k0 (kc long): the blocks lie one after the other,
// each holding ceil(M/mr) panels (k0 is a multiple of kc, itself a multiple of k_step).
inline std::byte* a_panel(const KernelSet& ks, const Operands& x, std::byte* a_packed, index_t k0, index_t kc,
                          index_t i) {
  return a_packed + ks.panel_bytes(ceil_div(x.m, ks.mr) * ks.mr, k0) + i * ks.panel_bytes(ks.mr, kc);
}

// Floats of the scratch that pack_a needs per thread: a panel's rows, normalized (none without a norm).
inline index_t norm_scratch_floats(const KernelSet& ks, const Operands& x) {
  return x.a_norm.weight != nullptr ? ks.mr * x.k : 0;
}

// Packs A panels [p.begin, p.end) for every K block. With a norm (Operands::a_norm), each panel's rows
// are first normalized into `scratch` (norm_scratch_floats), which stays in cache while they are packed
// from it: the normalized A is never written to memory.
inline void pack_a(const KernelSet& ks, const Operands& x, std::byte* a_packed, Range p, float* scratch) {
  for (index_t i = p.begin; i < p.end; ++i) {
    const Range rows = panel_rows(ks, x.m, i);
    const float* source = x.a + rows.begin * x.lda;
    index_t lda = x.lda;
    if (x.a_norm.weight != nullptr) {
      for (index_t r = 0; r < rows.end - rows.begin; ++r) {
        normalize_row(x.a_norm, scratch + r * x.k, source + r * x.lda, x.k);
      }
      source = scratch;
      lda = x.k;
    }
    for (index_t kb = 0; kb < k_blocks(ks, x.k); ++kb) {
      const index_t k0 = kb * ks.kc, kc = std::min(ks.kc, x.k - k0);
      ks.pack_a(source + k0, lda, static_cast<int>(rows.end - rows.begin), kc, ks.mr,
                a_panel(ks, x, a_packed, k0, kc, i));
    }
  }
}

// A tile whose columns end inside a vector: computed into a local tile, then copied out.
inline void edge_tile(MicroKernel kernel, MicroTile t, int rows, int cols, int nr) {
  alignas(64) float tile[kMaxTileRows * kMaxTileCols] = {};
  alignas(64) float bias[kMaxTileCols] = {};
  alignas(64) float scale[kMaxTileCols] = {};
  float* c = t.c;
  for (int i = 0; t.accumulate && i < rows; ++i) {
    std::memcpy(tile + i * nr, c + i * t.ldc, sizeof(float) * static_cast<std::size_t>(cols));
  }
  if (t.bias != nullptr) {
    std::memcpy(bias, t.bias, sizeof(float) * static_cast<std::size_t>(cols));
    t.bias = bias;
  }
  if (t.scale != nullptr) {
    std::memcpy(scale, t.scale, sizeof(float) * static_cast<std::size_t>(cols));
    t.scale = scale;
  }
  t.c = tile;
  const index_t ldc = t.ldc;
  t.ldc = nr;
  kernel(t);
  for (int i = 0; i < rows; ++i) {
    std::memcpy(c + i * ldc, tile + i * nr, sizeof(float) * static_cast<std::size_t>(cols));
  }
}

// Hands the source rows of the next B block out to the micro-tiles of the current one, a row or
// a few per tile, so that each kernel prefetches them between its FMAs and packing the next block
// reads them from cache instead of waiting on memory.
class NextBlockPrefetch {
 public:
  NextBlockPrefetch() = default;
  // Rows [n0, n1) and columns [k0, k0 + kc) of B, spread over `tiles` micro-tiles.
  NextBlockPrefetch(const Operands& x, index_t n0, index_t n1, index_t k0, index_t kc, index_t tiles)
      : first_(x.b + (n0 * x.ldb + k0) * x.b_size),
        stride_(x.ldb * x.b_size),
        rows_(kc > 0 ? n1 - n0 : 0),
        rows_per_tile_(ceil_div(rows_, std::max<index_t>(tiles, 1))),
        lines_(kc * x.b_size / 64 + 1) {}  // enough for any alignment of the row's start

  void assign(MicroTile& t) {
    const index_t rows = std::min(rows_per_tile_, rows_ - next_);
    t.prefetch = rows > 0 ? first_ + next_ * stride_ : nullptr;
    t.prefetch_stride = stride_;
    t.prefetch_rows = static_cast<int>(rows);
    t.prefetch_lines = static_cast<int>(lines_);
    next_ += rows;
  }

 private:
  const std::byte* first_ = nullptr;
  index_t stride_ = 0, rows_ = 0, rows_per_tile_ = 0, lines_ = 0, next_ = 0;
};

// Bytes of one thread's packed B block.
inline index_t packed_b_block_bytes(const KernelSet& ks) { return ks.panel_bytes(ks.nc, ks.kc); }

// C tiles of A panels `p` × B panels `j`, with this thread's B block buffer (packed_b_block_bytes).
inline void multiply(const KernelSet& ks, const Operands& x, std::byte* a_packed, std::byte* b_block, Range p,
                     Range j) {
  if (ks.thread_begin != nullptr) {
    ks.thread_begin();
  }
  const index_t block_panels = ks.nc / ks.nr;
  const index_t kbs = k_blocks(ks, x.k);
  for (index_t j0 = j.begin; j0 < j.end; j0 += block_panels) {
    const index_t j1 = std::min(j.end, j0 + block_panels);
    for (index_t kb = 0; kb < kbs; ++kb) {
      const index_t k0 = kb * ks.kc, kc = std::min(ks.kc, x.k - k0);
      for (index_t jj = j0; jj < j1 && x.b_prepacked == nullptr; ++jj) {
        const index_t n0 = jj * ks.nr;
        x.pack_b(x.b + (n0 * x.ldb + k0) * x.b_size, x.ldb, std::min<index_t>(ks.nr, x.n - n0), kc, ks.nr,
                 b_block + (jj - j0) * ks.panel_bytes(ks.nr, kc));
      }
      const index_t tiles = (p.end - p.begin) * (j1 - j0);
      // The next K block of these columns, or the first of the next columns (nothing, with prepacked
      // panels: those are read where they lie).
      NextBlockPrefetch next;
      if (x.b_prepacked == nullptr && kb + 1 < kbs) {
        next =
            NextBlockPrefetch(x, j0 * ks.nr, std::min(x.n, j1 * ks.nr), k0 + kc, std::min(ks.kc, x.k - k0 - kc), tiles);
      } else if (x.b_prepacked == nullptr && j1 < j.end) {
        const index_t j2 = std::min(j.end, j1 + block_panels);
        next = NextBlockPrefetch(x, j1 * ks.nr, std::min(x.n, j2 * ks.nr), 0, std::min(ks.kc, x.k), tiles);
      }
      const bool last = kb == kbs - 1;
      for (index_t i = p.begin; i < p.end; ++i) {
        const Range rows = panel_rows(ks, x.m, i);
        const int row_count = static_cast<int>(rows.end - rows.begin);
        MicroTile t;
        t.a = a_panel(ks, x, a_packed, k0, kc, i);
        t.kc = kc;
        t.ldc = x.ldc;
        t.accumulate = kb > 0 || x.scale != nullptr;
        t.gelu = last && x.gelu;
        t.rows = row_count;
        for (index_t jj = j0; jj < j1; ++jj) {
          const index_t n0 = jj * ks.nr;
          t.cols = static_cast<int>(std::min<index_t>(ks.nr, x.n - n0));
          t.b = x.b_prepacked != nullptr ? x.b_prepacked + prepacked_offset(ks, x.k, jj, k0)
                                         : b_block + (jj - j0) * ks.panel_bytes(ks.nr, kc);
          t.c = x.c + rows.begin * x.ldc + n0;
          t.bias = last && x.bias != nullptr ? x.bias + n0 : nullptr;
          t.scale = x.scale != nullptr ? x.scale + n0 : nullptr;
          next.assign(t);
          if (ks.tile_kernel != nullptr) {
            ks.tile_kernel(t);
            continue;
          }
          const int vectors = (t.cols + ks.lanes - 1) / ks.lanes;
          const MicroKernel kernel =
              ks.kernels[static_cast<std::size_t>(row_count - 1)][static_cast<std::size_t>(vectors - 1)];
          if (t.cols == vectors * ks.lanes) {
            kernel(t);
          } else {
            edge_tile(kernel, t, row_count, t.cols, ks.nr);
          }
        }
      }
    }
  }
  if (ks.thread_end != nullptr) {
    ks.thread_end();
  }
}

}  // namespace internvl::cpu::packed
