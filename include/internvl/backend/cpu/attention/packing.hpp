// The layouts the attention kernels read, and the copies that make them from [B, S, H, Dh] views.
//   query tiles  qp[(d / 4) · R · 4 + r · 4 + d % 4] = factor · Q[first + r]   (R rows, 4 dims a group)
//   key panels   kp[(p · depth + d) · P + c]        = K[p · P + c][d]         (P keys side by side)
//   dense rows   dst[r · width + d]                 = factor · X[first + r][d]
// depth = Dh rounded up to kDepthStep and width = Dh rounded up to whole vectors; padding is zero,
// as are the rows past the last query or key. Rows of one head sit a whole QKV row (3·H·Dh floats)
// apart, a new page each, where the hardware prefetcher does not follow: the copies ask for the
// row kPrefetchRows ahead themselves.
#pragma once

#include <algorithm>

#include "internvl/backend/cpu/attention/plan.hpp"

namespace internvl::cpu::attention {

inline constexpr index_t kDepthStep = 4;  // the scores kernels walk Dh four dimensions at a time
inline constexpr index_t kPrefetchRows = 8;

inline void prefetch_row(const float* row, index_t n) {
  for (index_t i = 0; i < n; i += 64 / static_cast<index_t>(sizeof(float))) {
    __builtin_prefetch(row + i);
  }
}

// The address of X[b, j, h, 0].
inline const float* row_of(const CView<float, 4>& x, index_t b, index_t j, index_t h) {
  return x.data() + b * x.stride(0) + j * x.stride(1) + h * x.stride(2);
}

// Rows [first, first + count) of head h of x as dense rows of `width` floats.
inline void pack_rows(const CView<float, 4>& x, index_t b, index_t h, index_t first, index_t count, float factor,
                      index_t width, float* dst) {
  const index_t head_dim = x.size(3);
  for (index_t r = 0; r < count; ++r) {
    if (r + kPrefetchRows < count) {
      prefetch_row(row_of(x, b, first + r + kPrefetchRows, h), head_dim);
    }
    const float* row = row_of(x, b, first + r, h);
    float* out = dst + r * width;
    for (index_t d = 0; d < head_dim; ++d) {
      out[d] = factor * row[d];
    }
    std::fill(out + head_dim, out + width, 0.0f);
  }
}

// Query rows [first, first + rows) of head h as tiles of TileRows rows and `depth` dimensions.
template <index_t TileRows>
void pack_query_tiles(const CView<float, 4>& q, index_t b, index_t h, index_t first, index_t rows, float factor,
                      index_t depth, float* qp) {
  const index_t head_dim = q.size(3);
  for (index_t i = 0; i < round_up(rows, TileRows); ++i) {
    // Row i's dimensions d .. d+3 land at tile_row + d · TileRows.
    float* tile_row = qp + (i / TileRows) * depth * TileRows + (i % TileRows) * kDepthStep;
    if (i + kPrefetchRows < rows) {
      prefetch_row(row_of(q, b, first + i + kPrefetchRows, h), head_dim);
    }
    const float* row = i < rows ? row_of(q, b, first + i, h) : nullptr;
    index_t d = 0;
    for (; row != nullptr && d + kDepthStep <= head_dim; d += kDepthStep) {
      for (index_t e = 0; e < kDepthStep; ++e) {
        tile_row[d * TileRows + e] = factor * row[d + e];
      }
    }
    for (; d < depth; d += kDepthStep) {
      for (index_t e = 0; e < kDepthStep; ++e) {
        tile_row[d * TileRows + e] = row != nullptr && d + e < head_dim ? factor * row[d + e] : 0.0f;
      }
    }
  }
}

// The f32 kernel sets' packed operands (flash.hpp's Kernels::Packed and the copies of V rows and Q
// tiles), which kernels_avx512.hpp and kernels_portable.hpp inherit; the bf16 set packs pairs instead.
struct F32Packing {
  using Packed = float;
  static void pack_values(const CView<float, 4>& v, index_t b, index_t h, index_t keys, index_t width, float* vp) {
    pack_rows(v, b, h, 0, keys, 1.0f, width, vp);
  }
  template <index_t TileRows>
  static void pack_query_tiles(const CView<float, 4>& q, index_t b, index_t h, index_t first, index_t rows,
                               float factor, index_t depth, float* qp) {
    attention::pack_query_tiles<TileRows>(q, b, h, first, rows, factor, depth, qp);
  }
};

// All `keys` rows of one head (k points at key 0, rows k_stride apart) as panels of Panel keys,
// one element at a time: the portable kernels' way (kernels_avx512.hpp transposes in registers).
template <index_t Panel>
void pack_key_panels_scalar(const float* k, index_t k_stride, index_t keys, index_t head_dim, index_t depth,
                            float* kp) {
  for (index_t j = 0; j < round_up(keys, Panel); ++j) {
    float* column = kp + (j / Panel) * depth * Panel + j % Panel;
    if (j + kPrefetchRows < keys) {
      prefetch_row(k + (j + kPrefetchRows) * k_stride, head_dim);
    }
    const float* row = j < keys ? k + j * k_stride : nullptr;
    for (index_t d = 0; d < depth; ++d) {
      column[d * Panel] = row != nullptr && d < head_dim ? row[d] : 0.0f;
    }
  }
}

}  // namespace internvl::cpu::attention
