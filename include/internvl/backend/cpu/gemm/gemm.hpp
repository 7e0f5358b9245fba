// The cpu backend's GEMM driver:  C[b] = act(A[b] · B[b]ᵀ + bias)  for every matrix b of a batch.
//   A [M, K] f32 activations; B [N, K] weights stored as f32, bf16 or f16 (widened while packed);
//   C [M, N] f32; f32 accumulation; bias [N] or none; act = identity or exact-erf GELU.
//   Rows must be dense (unit stride in the last dimension); row and batch strides are free.
// Loops for one matrix (names from blocking.hpp):
//   pack A once, as mr-row panels (the threads split the panels)
//   the threads split C's nr-column panels into contiguous ranges (its mr-row panels if N is narrow);
//   each thread, over its range:  for each N block (nc)  for each K block (kc):  pack the B block
//     (nc × kc, stays in L2)  for each A panel (mr rows)  for each B panel (nr columns):  micro-tile
// A batch that divides evenly over the threads (or is large) is split by matrix instead. The path (AVX-512
// or AVX2) is chosen per call (isa.hpp); the packing buffers come from the workspace.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "internvl/backend/cpu/gemm/blocking.hpp"
#include "internvl/backend/cpu/gemm/kernel_avx2.hpp"
#include "internvl/backend/cpu/gemm/kernel_avx512.hpp"
#include "internvl/backend/cpu/gemm/pack.hpp"
#include "internvl/backend/cpu/isa.hpp"
#include "internvl/core/thread_pool.hpp"
#include "internvl/core/weight_view.hpp"
#include "internvl/core/workspace.hpp"

namespace internvl::cpu {

struct GemmEpilogue {
  CView<float, 1> bias = {};  // [N], or empty for none
  bool gelu = false;          // exact-erf GELU after the bias
};

namespace packed::detail {

using PackB = void (*)(const void* b, index_t ldb, index_t cols, index_t kc, int nr, float* dst);

template <class T>
void pack_b_typed(const void* b, index_t ldb, index_t cols, index_t kc, int nr, float* dst) {
  pack_b_panel(static_cast<const T*>(b), ldb, cols, kc, nr, dst);
}

// One matrix of the batch, as the packing and tile loops see it.
struct Operands {
  index_t m = 0, n = 0, k = 0;
  const float* a = nullptr;
  index_t lda = 0;
  const std::byte* b = nullptr;  // element (j, k) at b + (j·ldb + k)·b_size
  index_t ldb = 0;
  index_t b_size = 0;
  PackB pack_b = nullptr;
  float* c = nullptr;
  index_t ldc = 0;
  const float* bias = nullptr;
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

// Packs A panels [p.begin, p.end) for every K block: block k0 holds ceil(M/mr) panels of [kc][mr].
inline void pack_a(const KernelSet& ks, const Operands& x, float* a_packed, Range p) {
  const index_t m_panels = ceil_div(x.m, ks.mr);
  for (index_t kb = 0; kb < k_blocks(ks, x.k); ++kb) {
    const index_t k0 = kb * ks.kc, kc = std::min(ks.kc, x.k - k0);
    for (index_t i = p.begin; i < p.end; ++i) {
      const int rows = static_cast<int>(std::min<index_t>(ks.mr, x.m - i * ks.mr));
      pack_a_panel(x.a + i * ks.mr * x.lda + k0, x.lda, rows, kc, ks.mr, a_packed + k0 * m_panels * ks.mr + i * ks.mr * kc);
    }
  }
}

// A tile with fewer than nr columns: computed into a local tile, then copied out.
inline void edge_tile(MicroKernel kernel, MicroTile t, int rows, int cols, int nr) {
  alignas(64) float tile[kMaxTileRows * kMaxTileCols];
  alignas(64) float bias[kMaxTileCols] = {};
  float* c = t.c;
  for (int i = 0; t.accumulate && i < rows; ++i) {
    std::memcpy(tile + i * nr, c + i * t.ldc, sizeof(float) * static_cast<std::size_t>(cols));
  }
  if (t.bias != nullptr) {
    std::memcpy(bias, t.bias, sizeof(float) * static_cast<std::size_t>(cols));
    t.bias = bias;
  }
  t.c = tile;
  const index_t ldc = t.ldc;
  t.ldc = nr;
  kernel(t);
  for (int i = 0; i < rows; ++i) {
    std::memcpy(c + i * ldc, tile + i * nr, sizeof(float) * static_cast<std::size_t>(cols));
  }
}

// C tiles of A panels `p` × B panels `j`, with this thread's B block buffer (kc · nc floats).
inline void multiply(const KernelSet& ks, const Operands& x, const float* a_packed, float* b_block, Range p, Range j) {
  const index_t m_panels = ceil_div(x.m, ks.mr);
  const index_t block_panels = ks.nc / ks.nr;
  const index_t kbs = k_blocks(ks, x.k);
  for (index_t j0 = j.begin; j0 < j.end; j0 += block_panels) {
    const index_t j1 = std::min(j.end, j0 + block_panels);
    for (index_t kb = 0; kb < kbs; ++kb) {
      const index_t k0 = kb * ks.kc, kc = std::min(ks.kc, x.k - k0);
      for (index_t jj = j0; jj < j1; ++jj) {
        const index_t n0 = jj * ks.nr;
        x.pack_b(x.b + (n0 * x.ldb + k0) * x.b_size, x.ldb, std::min<index_t>(ks.nr, x.n - n0), kc, ks.nr,
                 b_block + (jj - j0) * ks.nr * kc);
      }
      const bool last = kb == kbs - 1;
      for (index_t i = p.begin; i < p.end; ++i) {
        const int rows = static_cast<int>(std::min<index_t>(ks.mr, x.m - i * ks.mr));
        const MicroKernel kernel = ks.kernels[static_cast<std::size_t>(rows - 1)];
        MicroTile t;
        t.a = a_packed + k0 * m_panels * ks.mr + i * ks.mr * kc;
        t.kc = kc;
        t.ldc = x.ldc;
        t.accumulate = kb > 0;
        t.gelu = last && x.gelu;
        for (index_t jj = j0; jj < j1; ++jj) {
          const index_t n0 = jj * ks.nr;
          const int cols = static_cast<int>(std::min<index_t>(ks.nr, x.n - n0));
          t.b = b_block + (jj - j0) * ks.nr * kc;
          t.c = x.c + i * ks.mr * x.ldc + n0;
          t.bias = last && x.bias != nullptr ? x.bias + n0 : nullptr;
          if (cols == ks.nr) {
            kernel(t);
          } else {
            edge_tile(kernel, t, rows, cols, ks.nr);
          }
        }
      }
    }
  }
}

// Below this many flops a GEMM runs on one thread (waking the pool costs more than it saves).
inline constexpr double kMinFlopsPerThread = 1 << 21;

}  // namespace packed::detail

// C[b] = act(A[b] · B[b]ᵀ + bias) for b < batch. A [batch, M, K], B [batch, N, K], C [batch, M, N].
inline void gemm_batched(ThreadPool& pool, Workspace<>& ws, View<float, 3> c, CView<float, 3> a,
                         const WeightView<3>& b, GemmEpilogue epilogue = {}, Isa isa = active_isa()) {
  using namespace packed;
  using namespace packed::detail;
  constexpr std::string_view where = "cpu::gemm";
  const index_t batch = a.size(0), m = a.size(1), k = a.size(2), n = b.size(1);
  INTERNVL_CHECK(b.size(0) == batch && b.size(2) == k && c.shape() == (Extents<3>{batch, m, n}), where, "A ",
                 shape_string(a), ", B ", shape_string(b), " and C ", shape_string(c), " do not fit C = A·Bᵀ");
  INTERNVL_CHECK(a.has_dense_rows() && c.has_dense_rows() && (k <= 1 || b.stride(2) == 1), where, "rows must be dense");
  INTERNVL_CHECK(epilogue.bias.data() == nullptr || (epilogue.bias.size(0) == n && epilogue.bias.stride(0) == 1),
                 where, "bias has shape ", shape_string(epilogue.bias), ", expected [", n, "] (dense)");
  INTERNVL_CHECK(isa == Isa::avx512 ? cpu_features().avx512 : cpu_features().avx2, where, "this CPU lacks ",
                 isa_name(isa));
  if (batch == 0 || m == 0 || n == 0) {
    return;
  }
  const KernelSet& ks = isa == Isa::avx512 ? avx512::kKernels : avx2::kKernels;
  Operands x{.m = m, .n = n, .k = k, .a = a.data(), .lda = a.stride(1),
             .b = static_cast<const std::byte*>(b.data()), .ldb = b.stride(1),
             .b_size = static_cast<index_t>(size_of(b.dtype())), .pack_b = nullptr, .c = c.data(),
             .ldc = c.stride(1), .bias = epilogue.bias.data(), .gelu = epilogue.gelu};
  x.pack_b = visit_dtype(b.dtype(), []<class T>(T) -> PackB { return &pack_b_typed<T>; });
  const auto item = [&](index_t i) {
    Operands xi = x;
    xi.a += i * a.stride(0);
    xi.b += i * b.stride(0) * x.b_size;
    xi.c += i * c.stride(0);
    return xi;
  };

  const index_t m_panels = ceil_div(m, ks.mr), n_panels = ceil_div(n, ks.nr);
  const double flops = 2.0 * static_cast<double>(batch * m * n) * static_cast<double>(std::max<index_t>(k, 1));
  const index_t threads = std::clamp<index_t>(static_cast<index_t>(flops / kMinFlopsPerThread), 1, pool.size());
  const index_t a_floats = m_panels * ks.mr * k;
  const index_t b_floats = ks.kc * ks.nc;
  auto scope = ws.scope();
  float* b_blocks = ws.allocate<float>(static_cast<std::size_t>(threads * b_floats));

  if (batch % threads == 0 || batch >= 8 * threads) {  // one matrix per thread at a time
    float* a_packed = ws.allocate<float>(static_cast<std::size_t>(std::max<index_t>(1, threads * a_floats)));
    pool.run(threads, [&](index_t t) {
      const Range mine = part(batch, threads, t);
      for (index_t i = mine.begin; i < mine.end; ++i) {
        const Operands xi = item(i);
        pack_a(ks, xi, a_packed + t * a_floats, {0, m_panels});
        multiply(ks, xi, a_packed + t * a_floats, b_blocks + t * b_floats, {0, m_panels}, {0, n_panels});
      }
    });
    return;
  }
  float* a_packed = ws.allocate<float>(static_cast<std::size_t>(std::max<index_t>(1, a_floats)));
  const bool split_n = n_panels >= threads;
  for (index_t i = 0; i < batch; ++i) {  // every thread on each matrix
    const Operands xi = item(i);
    pool.run(threads, [&](index_t t) { pack_a(ks, xi, a_packed, part(m_panels, threads, t)); });
    pool.run(threads, [&](index_t t) {
      multiply(ks, xi, a_packed, b_blocks + t * b_floats, split_n ? Range{0, m_panels} : part(m_panels, threads, t),
               split_n ? part(n_panels, threads, t) : Range{0, n_panels});
    });
  }
}

// C = act(A · Bᵀ + bias): A [M, K], B [N, K], C [M, N].
inline void gemm(ThreadPool& pool, Workspace<>& ws, View<float, 2> c, CView<float, 2> a, const WeightView<2>& b,
                 GemmEpilogue epilogue = {}, Isa isa = active_isa()) {
  const auto add_batch = []<class T>(TensorView<T, 2> v) {
    return TensorView<T, 3>(v.data(), {1, v.size(0), v.size(1)}, {0, v.stride(0), v.stride(1)});
  };
  const WeightView<3> b3 = b.visit([&]<class T>(CView<T, 2> typed) { return WeightView<3>(add_batch(typed)); });
  gemm_batched(pool, ws, add_batch(c), add_batch(a), b3, epilogue, isa);
}

}  // namespace internvl::cpu
