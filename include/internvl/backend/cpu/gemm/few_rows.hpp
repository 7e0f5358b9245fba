// C = A·Bᵀ (+ bias) with B read as stored, never packed: the product for calls with few rows of A
// (decoding, one row per beam), where each element of B is used a handful of times, so the product is
// bound by reading B, and packing B (what the packed GEMM does to reuse it across many rows) would cost
// more than the multiply. Each row of B is read once, widened to f32 eight elements at a time (bf16:
// shifted into the top half; f16: vcvtph2ps), and multiplied into one accumulator per row of A
// (M ≤ kFewRows):
//   C[m, n] = Σ_k A[m, k]·B[n, k] (+ bias[n])     A [M, K] f32, B [N, K] f32/bf16/f16, C [M, N]
// The sum of each C[m, n] runs over k in eight f32 lanes (k mod 8, in order), the lanes are then added
// pairwise, and the K mod 8 last terms after: its bits depend neither on the number of threads (they
// split N) nor on the other rows of the call, nor on the path (AVX2 or AVX-512, which compile the same
// 256-bit code for their 16 and 32 vector registers). AVX2 + FMA + F16C, which every CPU of the
// project's baseline has.
// In bf16 precision, on a CPU with AVX512-BF16 and with B stored in bf16 (every official checkpoint),
// A's rows are rounded to bf16 (to nearest even) first and one vdpbf16ps multiplies sixteen k of a row
// and a column: each lane adds the products of a pair of consecutive k, which is how bf16 B is stored,
// so B is not widened and there are half as many multiply instructions, which from five rows on makes
// the product faster (gemm_streamed_bf16; docs/gemm.md).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <type_traits>

#include "internvl/backend/cpu/gemm/pack.hpp"
#include "internvl/backend/cpu/isa.hpp"
#include "internvl/backend/cpu/kernel_linkage.hpp"
#include "internvl/core/thread_pool.hpp"
#include "internvl/core/weight_view.hpp"

namespace internvl::cpu {

inline constexpr index_t kFewRows = 8;  // the most rows of A this product takes

namespace detail {

INTERNVL_TARGET_AVX2 inline float sum_lanes(__m256 v) {
  const __m128 quads = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 pairs = _mm_add_ps(quads, _mm_movehl_ps(quads, quads));
  return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)));
}

// The first of the next tile's columns, whose rows are fetched into L2 while this tile's are multiplied
// (the hardware prefetcher starts over at every 4 KB page of a new row); this tile's own where there is
// no next tile. Into L2, not L1: a tile's worth of lines ahead would push A's rows out of L1 (at one
// row, into L1 ran at 20-21 GB/s, into L2 at 24-27). One line every 32 k: 64 bytes of bf16 or f16.
inline index_t prefetched_column(index_t n, index_t columns, index_t total) {
  return n + 2 * columns <= total ? n + columns : n;
}

// Columns [n, n + C) of C for the M rows of A (M and C compile-time constants, so that the C·M
// accumulators stay in registers). An FMA waits for the one before it in its chain, so each pass
// over eight k advances C·M independent chains: one column alone would leave the FMA units idle.
template <index_t M, index_t C, class T>
[[gnu::always_inline]] INTERNVL_TARGET_AVX2 inline void few_rows_tile(View<float, 2> c, CView<float, 2> a,
                                                                      CView<T, 2> b, const float* bias, index_t n) {
  const index_t k = a.size(1), body = k - k % 8;
  __m256 acc[C][M];
  for (index_t col = 0; col < C; ++col) {
    for (index_t i = 0; i < M; ++i) {
      acc[col][i] = _mm256_setzero_ps();
    }
  }
  const index_t ahead = prefetched_column(n, C, b.size(0));
  for (index_t j = 0; j < body; j += 8) {
    __m256 w[C];
    for (index_t col = 0; col < C; ++col) {
      if (j % 32 == 0) {
        _mm_prefetch(reinterpret_cast<const char*>(&b(ahead + col, j)), _MM_HINT_T1);
      }
      w[col] = packed::detail::load8_as_f32(&b(n + col, j));
    }
    for (index_t i = 0; i < M; ++i) {
      const __m256 x = _mm256_loadu_ps(&a(i, j));
      for (index_t col = 0; col < C; ++col) {
        acc[col][i] = _mm256_fmadd_ps(x, w[col], acc[col][i]);
      }
    }
  }
  for (index_t col = 0; col < C; ++col) {
    for (index_t i = 0; i < M; ++i) {
      float sum = sum_lanes(acc[col][i]);
      for (index_t j = body; j < k; ++j) {
        sum += a(i, j) * static_cast<float>(b(n + col, j));
      }
      c(i, n + col) = bias != nullptr ? sum + bias[n + col] : sum;
    }
  }
}

// Columns [begin, end) of C: tiles of as many columns as `Registers` vector registers allow (C·M
// accumulators, C widened B vectors and one A vector), at most four, then single columns.
template <index_t Registers, index_t M, class T>
[[gnu::always_inline]] INTERNVL_TARGET_AVX2 inline void few_rows_columns(View<float, 2> c, CView<float, 2> a,
                                                                         CView<T, 2> b, const float* bias,
                                                                         index_t begin, index_t end) {
  constexpr index_t kColumns = std::min<index_t>(4, (Registers - 1) / (M + 1));
  index_t n = begin;
  for (; n + kColumns <= end; n += kColumns) {
    few_rows_tile<M, kColumns>(c, a, b, bias, n);
  }
  for (; n < end; ++n) {
    few_rows_tile<M, 1>(c, a, b, bias, n);
  }
}

// The same 256-bit code compiled twice: for AVX2's 16 vector registers, and for AVX-512, whose EVEX
// encoding reaches 32 (ymm16-31), room for more columns per tile at more rows (8 rows: 3 columns
// instead of 1, so that A's rows are loaded a third as often). The arithmetic is the same, and so
// are the bits.
template <index_t M, class T>
INTERNVL_TARGET_AVX2 void few_rows_columns_avx2(View<float, 2> c, CView<float, 2> a, CView<T, 2> b, const float* bias,
                                                index_t begin, index_t end) {
  few_rows_columns<16, M>(c, a, b, bias, begin, end);
}

template <index_t M, class T>
INTERNVL_TARGET_AVX512 void few_rows_columns_avx512(View<float, 2> c, CView<float, 2> a, CView<T, 2> b,
                                                    const float* bias, index_t begin, index_t end) {
  few_rows_columns<32, M>(c, a, b, bias, begin, end);
}

// The bf16 tile: A [M, K] and B in bf16, sixteen k a step, each lane of an accumulator the sum of
// its pairs of k (k mod 16 = 2l, 2l + 1), then the lanes as above and the K mod 16 last terms.
template <index_t M, index_t C>
[[gnu::always_inline]] INTERNVL_TARGET_AVX512_BF16 inline void few_rows_tile_bf16(View<float, 2> c, CView<bf16, 2> a,
                                                                                  CView<bf16, 2> b, const float* bias,
                                                                                  index_t n) {
  const index_t k = a.size(1), body = k - k % 16;
  __m256 acc[C][M];
  for (index_t col = 0; col < C; ++col) {
    for (index_t i = 0; i < M; ++i) {
      acc[col][i] = _mm256_setzero_ps();
    }
  }
  const index_t ahead = prefetched_column(n, C, b.size(0));
  for (index_t j = 0; j < body; j += 16) {
    __m256bh w[C];
    for (index_t col = 0; col < C; ++col) {
      if (j % 32 == 0) {
        _mm_prefetch(reinterpret_cast<const char*>(&b(ahead + col, j)), _MM_HINT_T1);
      }
      w[col] = (__m256bh)_mm256_loadu_si256(reinterpret_cast<const __m256i*>(&b(n + col, j)));
    }
    for (index_t i = 0; i < M; ++i) {
      const auto x = (__m256bh)_mm256_loadu_si256(reinterpret_cast<const __m256i*>(&a(i, j)));
      for (index_t col = 0; col < C; ++col) {
        acc[col][i] = _mm256_dpbf16_ps(acc[col][i], x, w[col]);
      }
    }
  }
  for (index_t col = 0; col < C; ++col) {
    for (index_t i = 0; i < M; ++i) {
      float sum = sum_lanes(acc[col][i]);
      for (index_t j = body; j < k; ++j) {
        sum += static_cast<float>(a(i, j)) * static_cast<float>(b(n + col, j));
      }
      c(i, n + col) = bias != nullptr ? sum + bias[n + col] : sum;
    }
  }
}

// Columns [begin, end) of C by the bf16 tile, as few_rows_columns does on 32 registers.
template <index_t M>
INTERNVL_TARGET_AVX512_BF16 void few_rows_columns_bf16(View<float, 2> c, CView<bf16, 2> a, CView<bf16, 2> b,
                                                       const float* bias, index_t begin, index_t end) {
  constexpr index_t kColumns = std::min<index_t>(4, 31 / (M + 1));
  index_t n = begin;
  for (; n + kColumns <= end; n += kColumns) {
    few_rows_tile_bf16<M, kColumns>(c, a, b, bias, n);
  }
  for (; n < end; ++n) {
    few_rows_tile_bf16<M, 1>(c, a, b, bias, n);
  }
}

// fn(std::integral_constant<index_t, M>{}) for M = rows ≤ kFewRows: the kernels of that row count.
template <index_t M = 1, class Fn>
void with_rows(index_t rows, Fn&& fn) {
  if constexpr (M < kFewRows) {
    if (rows != M) {
      with_rows<M + 1>(rows, fn);
      return;
    }
  }
  fn(std::integral_constant<index_t, M>{});
}

inline constexpr index_t kColumnsPerChunk = 16;  // the columns a thread takes at a time

inline void check_streamed_shapes(CView<float, 2> c, Extents<2> a, Extents<2> b) {
  INTERNVL_CHECK(a[0] >= 1 && a[0] <= kFewRows && a[1] >= 1 && b[1] == a[1] && c.shape() == (Extents<2>{a[0], b[0]}),
                 "cpu::gemm_streamed", "A ", shape_string(a), ", B ", shape_string(b), " and C ", shape_string(c),
                 " do not fit C = A·Bᵀ with at most ", kFewRows, " rows");
}

}  // namespace detail

// C [M, N] = A [M, K]·B [N, K]ᵀ (+ bias [N]), B unpacked, 1 ≤ M ≤ kFewRows; A, B and C with dense rows,
// K ≥ 1. Every path but avx2 (the CPU has AVX-512) uses the 32-register build. An entry point
// (kernel_linkage.hpp): with separate kernels, compiled once.
INTERNVL_CPU_ENTRY void gemm_streamed(ThreadPool& pool, View<float, 2> c, CView<float, 2> a, const WeightView<2>& b,
                                      const float* bias, Isa isa);

// The same product on bf16 operands: A [M, K] already rounded to bf16, B stored in bf16, f32 sums; for
// CPUs with AVX512-BF16 (the caller checks). An entry point too.
INTERNVL_CPU_ENTRY void gemm_streamed_bf16(ThreadPool& pool, View<float, 2> c, CView<bf16, 2> a, CView<bf16, 2> b,
                                           const float* bias);

#if INTERNVL_CPU_DEFINE_ENTRIES
INTERNVL_CPU_ENTRY void gemm_streamed(ThreadPool& pool, View<float, 2> c, CView<float, 2> a, const WeightView<2>& b,
                                      const float* bias, Isa isa) {
  detail::check_streamed_shapes(c, a.shape(), b.shape());
  const bool avx512 = isa != Isa::avx2;
  b.visit([&]<class T>(CView<T, 2> typed) {
    pool.parallel_for(b.size(0), detail::kColumnsPerChunk, [&](index_t begin, index_t end) {
      detail::with_rows(a.size(0), [&](auto rows) {
        constexpr index_t M = decltype(rows)::value;
        if (avx512) {
          detail::few_rows_columns_avx512<M>(c, a, typed, bias, begin, end);
        } else {
          detail::few_rows_columns_avx2<M>(c, a, typed, bias, begin, end);
        }
      });
    });
  });
}

INTERNVL_CPU_ENTRY void gemm_streamed_bf16(ThreadPool& pool, View<float, 2> c, CView<bf16, 2> a, CView<bf16, 2> b,
                                           const float* bias) {
  detail::check_streamed_shapes(c, a.shape(), b.shape());
  pool.parallel_for(b.size(0), detail::kColumnsPerChunk, [&](index_t begin, index_t end) {
    detail::with_rows(a.size(0), [&](auto rows) {
      constexpr index_t M = decltype(rows)::value;
      detail::few_rows_columns_bf16<M>(c, a, b, bias, begin, end);
    });
  });
}
#endif

}  // namespace internvl::cpu
