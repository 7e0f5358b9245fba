// The cpu backend's GEMM:  C[b] = act(A[b] · B[b]ᵀ + bias)  for every matrix b of a batch,
// or in residual form  C[b] += γ ⊙ (A[b] · B[b]ᵀ + bias)  (a layer-scaled residual branch), with A's
// rows optionally normalized over K first (RMSNorm or LayerNorm, GemmPrologue) while they are packed.
//   A [M, K] f32 activations; B [N, K] weights stored as f32, bf16 or f16 (converted while packed);
//   C [M, N] f32; f32 accumulation; bias [N] or none; act = identity or exact-erf GELU; γ [N].
//   Rows must be dense (unit stride in the last dimension); row and batch strides are free.
// Precision (precision.hpp): f32 multiplies f32 operands (B widened); bf16 rounds both operands to
// bf16 while packing and multiplies with AMX tiles (kernel_amx.hpp) or vdpbf16ps
// (kernel_avx512_bf16.hpp), as the ISA allows.
// Per matrix, A is packed once (the threads split its panels); then each thread runs the blocked loops
// of macro_kernel.hpp over one block of C's panels, with its own packed-B buffer: the blocks are a grid
// of contiguous row-panel and column-panel ranges (thread_grid), as balanced as whole panels allow. A
// batch that divides evenly over the threads (or is large) is split by matrix instead. Tiny products
// run on one thread. The path (kernel_set: ISA × precision) is chosen per call; the packing buffers
// come from the workspace.
// packed::gemm_with runs a given KernelSet (tests run the amx path's on emulated tiles with it).
// A model's weights can be packed once instead (prepack.hpp; Context<backend::cpu>::set_weight_prepacking).
#pragma once

#include <algorithm>
#include <cstddef>

#include "internvl/backend/cpu/gemm/few_rows.hpp"
#include "internvl/backend/cpu/gemm/kernel_amx.hpp"
#include "internvl/backend/cpu/gemm/kernel_avx2.hpp"
#include "internvl/backend/cpu/gemm/kernel_avx512.hpp"
#include "internvl/backend/cpu/gemm/kernel_avx512_bf16.hpp"
#include "internvl/backend/cpu/gemm/macro_kernel.hpp"
#include "internvl/backend/cpu/gemm/prepack.hpp"
#include "internvl/backend/cpu/isa.hpp"
#include "internvl/backend/cpu/kernel_linkage.hpp"
#include "internvl/backend/cpu/precision.hpp"
#include "internvl/core/thread_pool.hpp"
#include "internvl/core/weight_view.hpp"
#include "internvl/core/workspace.hpp"

namespace internvl::cpu {

struct GemmEpilogue {
  CView<float, 1> bias = {};   // [N], or empty for none
  CView<float, 1> scale = {};  // [N] layer scale γ, or empty: with it C[b] += γ ⊙ (A[b]·B[b]ᵀ + bias),
                               // C holding the residual on entry (no GELU)
  bool gelu = false;           // exact-erf GELU after the bias
};

// What happens to A's rows before the product: with a norm weight, each row is normalized over K,
//   RMSNorm  a ← w · a / rms(a),   or LayerNorm  a ← (a − mean(a)) / std(a) · w + b   (row_norm.hpp),
// while A is packed, so that the normalized A is never stored.
struct GemmPrologue {
  bool layer_norm = false;
  CView<float, 1> norm_weight = {};  // [K], or empty: A is used as it is
  CView<float, 1> norm_bias = {};    // [K] for LayerNorm
  float eps = 0.0f;
};

// The prologue's norm fits rows of K values.
inline void check_prologue(const GemmPrologue& prologue, index_t k) {
  constexpr std::string_view where = "cpu::gemm";
  const bool norm = prologue.norm_weight.data() != nullptr;
  INTERNVL_CHECK(!norm || (prologue.norm_weight.size(0) == k && prologue.norm_weight.stride(0) == 1), where,
                 "norm weight has shape ", shape_string(prologue.norm_weight), ", expected [", k, "] (dense)");
  INTERNVL_CHECK(
      !norm || !prologue.layer_norm || (prologue.norm_bias.size(0) == k && prologue.norm_bias.stride(0) == 1), where,
      "norm bias has shape ", shape_string(prologue.norm_bias), ", expected [", k, "] (dense)");
}

namespace packed {

// Below this many flops per thread a GEMM uses fewer threads (waking one costs more than it saves).
inline constexpr double kMinFlopsPerThread = 1 << 21;

// How the threads cut C's panels: row_groups × column_groups blocks of contiguous panels, one per thread.
struct ThreadGrid {
  index_t row_groups = 1, column_groups = 1;

  index_t blocks() const { return row_groups * column_groups; }
  // Block t's range of C's m_panels row panels and of its n_panels column panels.
  Range rows(index_t m_panels, index_t t) const { return part(m_panels, row_groups, t / column_groups); }
  Range columns(index_t n_panels, index_t t) const { return part(n_panels, column_groups, t % column_groups); }
};

// Packing a column of B for one K costs about as much as multiplying it with this many rows of A (per-call
// packing took 5.2% of InternViT-300M's time at 257 rows and 1.9% at 1025, docs/benchmarks.md).
inline constexpr index_t kPackingRows = 24;

// The grid whose largest block costs least, in rows × columns of C, each thread also packing its own
// columns of B (unless B is prepacked) whatever its rows; ties go to fewer row groups (less of B packed
// twice). Only whole panels are cut: with 2 threads and N of 4,096 (86 panels) the columns are halved,
// while with 16 threads, M of 1,025 and N of 1,024 (22 panels) 16 column groups would leave 6 threads
// twice the work of the others (69% of the threads' time used) and 2 × 8 uses 91%.
inline ThreadGrid thread_grid(const KernelSet& ks, index_t m_panels, index_t n_panels, index_t threads, bool packs_b) {
  ThreadGrid best;
  index_t best_cost = -1;
  for (index_t row_groups = 1; row_groups <= std::min(threads, m_panels); ++row_groups) {
    const index_t column_groups = std::min(threads / row_groups, n_panels);
    const index_t cost =
        ceil_div(n_panels, column_groups) * (ceil_div(m_panels, row_groups) * ks.mr + (packs_b ? kPackingRows : 0));
    if (best_cost < 0 || cost < best_cost) {
      best = {row_groups, column_groups};
      best_cost = cost;
    }
  }
  return best;
}

// The kernels that run a product of this precision when instruction sets up to `isa` may be used
// (an entry point: kernel_linkage.hpp).
INTERNVL_CPU_ENTRY const KernelSet& kernel_set(Isa isa, Precision precision);
#if INTERNVL_CPU_DEFINE_ENTRIES
INTERNVL_CPU_ENTRY const KernelSet& kernel_set(Isa isa, Precision precision) {
  if (isa == Isa::avx2) {
    return avx2::kKernels;
  }
  if (!bf16_products(isa, precision)) {
    return avx512::kKernels;
  }
  return isa == Isa::amx ? amx::kKernels : avx512_bf16::kKernels;
}
#endif

// gemm_batched with the kernels `ks` (which the caller makes sure this CPU can run); for a batch of
// one, b_prepacked may hold B's panels packed for ks (prepack.hpp).
inline void gemm_with(const KernelSet& ks, ThreadPool& pool, Workspace<>& ws, View<float, 3> c, CView<float, 3> a,
                      const WeightView<3>& b, GemmEpilogue epilogue, const std::byte* b_prepacked = nullptr,
                      GemmPrologue prologue = {}) {
  constexpr std::string_view where = "cpu::gemm";
  const index_t batch = a.size(0), m = a.size(1), k = a.size(2), n = b.size(1);
  INTERNVL_CHECK(b.size(0) == batch && b.size(2) == k && c.shape() == (Extents<3>{batch, m, n}), where, "A ",
                 shape_string(a), ", B ", shape_string(b), " and C ", shape_string(c), " do not fit C = A·Bᵀ");
  INTERNVL_CHECK(a.has_dense_rows() && c.has_dense_rows() && (k <= 1 || b.stride(2) == 1), where,
                 "A, B and C need unit stride in their last dimension (strides ", a.stride(2), ", ", b.stride(2), ", ",
                 c.stride(2), ")");
  INTERNVL_CHECK(epilogue.bias.data() == nullptr || (epilogue.bias.size(0) == n && epilogue.bias.stride(0) == 1), where,
                 "bias has shape ", shape_string(epilogue.bias), ", expected [", n, "] (dense)");
  INTERNVL_CHECK(epilogue.scale.data() == nullptr || (epilogue.scale.size(0) == n && epilogue.scale.stride(0) == 1),
                 where, "scale has shape ", shape_string(epilogue.scale), ", expected [", n, "] (dense)");
  INTERNVL_CHECK(epilogue.scale.data() == nullptr || !epilogue.gelu, where,
                 "a scaled residual epilogue takes no GELU");
  check_prologue(prologue, k);
  if (batch == 0 || m == 0 || n == 0) {
    return;
  }
  Operands x{.m = m,
             .n = n,
             .k = k,
             .a = a.data(),
             .lda = a.stride(1),
             .a_norm = {.layer_norm = prologue.layer_norm,
                        .weight = prologue.norm_weight.data(),
                        .bias = prologue.norm_bias.data(),
                        .eps = prologue.eps},
             .b = static_cast<const std::byte*>(b.data()),
             .ldb = b.stride(1),
             .b_size = static_cast<index_t>(size_of(b.dtype())),
             .pack_b = ks.pack_b_for(b.dtype()),
             .b_prepacked = batch == 1 ? b_prepacked : nullptr,
             .c = c.data(),
             .ldc = c.stride(1),
             .bias = epilogue.bias.data(),
             .scale = epilogue.scale.data(),
             .gelu = epilogue.gelu};
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
  const index_t a_bytes = packed_a_bytes(ks, m, k);
  const index_t b_bytes = x.b_prepacked != nullptr ? 0 : packed_b_block_bytes(ks);
  auto scope = ws.scope();
  std::byte* b_blocks = ws.allocate<std::byte>(static_cast<std::size_t>(std::max<index_t>(64, threads * b_bytes)));
  const index_t scratch_floats = norm_scratch_floats(ks, x);
  float* norm_scratch =
      scratch_floats > 0 ? ws.allocate<float>(static_cast<std::size_t>(threads * scratch_floats)) : nullptr;
  const auto scratch_of = [&](index_t t) {
    return norm_scratch != nullptr ? norm_scratch + t * scratch_floats : nullptr;
  };

  if (batch % threads == 0 || batch >= 8 * threads) {  // one matrix per thread at a time
    std::byte* a_packed = ws.allocate<std::byte>(static_cast<std::size_t>(std::max<index_t>(64, threads * a_bytes)));
    pool.run(threads, [&](index_t t) {
      const Range mine = part(batch, threads, t);
      for (index_t i = mine.begin; i < mine.end; ++i) {
        const Operands xi = item(i);
        pack_a(ks, xi, a_packed + t * a_bytes, {0, m_panels}, scratch_of(t));
        multiply(ks, xi, a_packed + t * a_bytes, b_blocks + t * b_bytes, {0, m_panels}, {0, n_panels});
      }
    });
    return;
  }
  std::byte* a_packed = ws.allocate<std::byte>(static_cast<std::size_t>(std::max<index_t>(64, a_bytes)));
  const ThreadGrid grid = thread_grid(ks, m_panels, n_panels, threads, x.b_prepacked == nullptr);
  for (index_t i = 0; i < batch; ++i) {  // every thread on each matrix
    const Operands xi = item(i);
    pool.run(threads, [&](index_t t) { pack_a(ks, xi, a_packed, part(m_panels, threads, t), scratch_of(t)); });
    pool.run(grid.blocks(), [&](index_t t) {
      multiply(ks, xi, a_packed, b_blocks + t * b_bytes, grid.rows(m_panels, t), grid.columns(n_panels, t));
    });
  }
}

}  // namespace packed

// C[b] = act(A[b] · B[b]ᵀ + bias) for b < batch. A [batch, M, K], B [batch, N, K], C [batch, M, N].
inline void gemm_batched(ThreadPool& pool, Workspace<>& ws, View<float, 3> c, CView<float, 3> a, const WeightView<3>& b,
                         GemmEpilogue epilogue = {}, Precision precision = Precision::f32, Isa isa = active_isa()) {
  INTERNVL_CHECK(supports(cpu_features(), isa), "cpu::gemm", "this CPU lacks ", isa_name(isa));
  packed::gemm_with(packed::kernel_set(isa, precision), pool, ws, c, a, b, epilogue);
}

// C = act(A · Bᵀ + bias): A [M, K] (its rows normalized first with a prologue), B [N, K], C [M, N].
// With prepack_weights, a B that has a PackSlot (a model's weight) is packed once for this path and read
// prepacked from then on (prepack.hpp). With stream_weights, a product of at most kFewRows rows with a
// bias at most (no GELU, no residual form) reads B as stored instead, never packing it (few_rows.hpp:
// decoding's products), A's rows normalized first into scratch as the packed path normalizes them. In
// bf16 precision with B stored in bf16 it multiplies bf16 operands (A's rows rounded into scratch),
// otherwise f32 ones. More rows reuse each weight enough to repay packing.
inline void gemm(ThreadPool& pool, Workspace<>& ws, View<float, 2> c, CView<float, 2> a, const WeightView<2>& b,
                 GemmEpilogue epilogue = {}, Precision precision = Precision::f32, Isa isa = active_isa(),
                 bool prepack_weights = false, GemmPrologue prologue = {}, bool stream_weights = false) {
  INTERNVL_CHECK(supports(cpu_features(), isa), "cpu::gemm", "this CPU lacks ", isa_name(isa));
  const index_t m = a.size(0), k = a.size(1);
  if (stream_weights && m >= 1 && m <= kFewRows && k >= 1 && !epilogue.gelu && epilogue.scale.data() == nullptr &&
      (epilogue.bias.data() == nullptr || epilogue.bias.stride(0) == 1) && a.has_dense_rows() && c.has_dense_rows() &&
      b.stride(1) == 1) {
    check_prologue(prologue, k);
    auto scope = ws.scope();
    CView<float, 2> rows = a;
    if (prologue.norm_weight.data() != nullptr) {
      View<float, 2> normed = ws.tensor<float>(Extents<2>{m, k});
      const RowNorm norm{.layer_norm = prologue.layer_norm,
                         .weight = prologue.norm_weight.data(),
                         .bias = prologue.norm_bias.data(),
                         .eps = prologue.eps};
      for (index_t i = 0; i < m; ++i) {
        normalize_row(norm, &normed(i, 0), &a(i, 0), k);
      }
      rows = normed;
    }
    if (bf16_products(isa, precision) && b.dtype() == DType::bf16) {
      View<bf16, 2> rounded = ws.tensor<bf16>(Extents<2>{m, k});
      for (index_t i = 0; i < m; ++i) {
        std::transform(&rows(i, 0), &rows(i, 0) + k, &rounded(i, 0), [](float v) { return bf16(v); });
      }
      gemm_streamed_bf16(pool, c, rounded, b.as<bf16>(), epilogue.bias.data());
    } else {
      gemm_streamed(pool, c, rows, b, epilogue.bias.data(), isa);
    }
    return;
  }
  const auto add_batch = []<class T>(TensorView<T, 2> v) {
    return TensorView<T, 3>(v.data(), {1, v.size(0), v.size(1)}, {0, v.stride(0), v.stride(1)});
  };
  const WeightView<3> b3 = b.visit([&]<class T>(CView<T, 2> typed) { return WeightView<3>(add_batch(typed)); });
  const packed::KernelSet& ks = packed::kernel_set(isa, precision);
  const bool prepackable = prepack_weights && a.size(1) == b.size(1) && (b.size(1) <= 1 || b.stride(1) == 1);
  packed::gemm_with(ks, pool, ws, add_batch(c), add_batch(a), b3, epilogue,
                    prepackable ? packed::prepacked_panels(ks, pool, b) : nullptr, prologue);
}

}  // namespace internvl::cpu
