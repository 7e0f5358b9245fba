// The rearrangements that turn convolutions into GEMMs (ops::linear) on the cpu backend. The output
// pixels of a batch are numbered q = (n·Ho + i)·Wo + j and handled in blocks of rows r = q − q0:
//   gather_patches (im2col):  cols[r, (c·kh + u)·kw + v] = x[n, c, i·sh − ph + u, j·sw − pw + v]  (0 outside)
//   gather_pixels:            rows[r, c] = x[n, c, i, j]      (the 1×1, stride-1 case: a transpose)
//   scatter_pixels:           y[n, o, i, j] = rows[r, o]
// so that conv(x) = scatter(linear(gather(x), W as [O, C·kh·kw])). Every view may be strided (rows of
// `cols`/`rows` dense). Reads run along image rows and writes stay within a few cache lines per row,
// in tiles split over the thread pool.
#pragma once

#include <algorithm>

#include "internvl/backend/cpu/simd.hpp"
#include "internvl/core/thread_pool.hpp"

namespace internvl::cpu {

// The output grid and window of a convolution; {h, w} pairs.
struct ConvGeometry {
  Extents<2> out;
  Extents<2> kernel;
  Extents<2> stride;
  Extents<2> padding;
};

// Output pixels per GEMM: as many as keep the block's scratch (`floats_per_row` each: patches plus
// GEMM output) within 128 MiB, so that the weight is streamed once per many rows.
inline index_t pixel_rows_per_block(index_t floats_per_row) {
  constexpr index_t kScratchBytes = index_t{128} << 20;
  return std::max<index_t>(
      1, kScratchBytes / (static_cast<index_t>(sizeof(float)) * std::max<index_t>(floats_per_row, 1)));
}

// im2col for rows [q0, q0 + cols.size(0)). The rows split into segments that share an output row
// (n, i); one work item is one channel of one segment: for each kernel row u it reads the input row
// once, left to right, and writes kw values into each of the segment's patch rows. Output columns
// whose window lies inside the image copy without bounds checks.
inline void gather_patches(ThreadPool& pool, View<float, 2> cols, CView<float, 4> x, const ConvGeometry& g,
                           index_t q0) {
  const index_t channels = x.size(1), height = x.size(2), width = x.size(3), step = x.stride(3);
  const index_t kh = g.kernel[0], kw = g.kernel[1], sh = g.stride[0], sw = g.stride[1];
  const index_t ph = g.padding[0], pw = g.padding[1], out_h = g.out[0], out_w = g.out[1];
  const index_t ld = cols.stride(0);
  // Output columns [inside_begin, inside_end) read only inside the image.
  const index_t inside_begin = (pw + sw - 1) / sw;
  const index_t inside_end = width + pw >= kw ? (width + pw - kw) / sw + 1 : 0;
  const index_t first_line = q0 / out_w, last_line = (q0 + cols.size(0) - 1) / out_w;  // line = n·Ho + i
  const index_t items = (last_line - first_line + 1) * channels;
  pool.parallel_for(items, rows_per_chunk(kh * kw * out_w), [&](index_t item_begin, index_t item_end) {
    for (index_t item = item_begin; item < item_end; ++item) {
      const index_t line = first_line + item / channels, c = item % channels;
      const index_t n = line / out_h, i = line % out_h;
      const index_t j0 = std::max(q0, line * out_w) - line * out_w;
      const index_t j1 = std::min(q0 + cols.size(0), (line + 1) * out_w) - line * out_w;
      const index_t fast_begin = std::clamp(inside_begin, j0, j1), fast_end = std::clamp(inside_end, fast_begin, j1);
      float* const first = &cols(line * out_w + j0 - q0, c * kh * kw);  // patch row of output column j0
      for (index_t u = 0; u < kh; ++u) {
        const auto patch = [&](index_t j) { return first + (j - j0) * ld + u * kw; };
        const index_t row = i * sh - ph + u;
        if (row < 0 || row >= height) {
          for (index_t j = j0; j < j1; ++j) {
            std::fill_n(patch(j), kw, 0.0f);
          }
          continue;
        }
        const float* src = &x(n, c, row, 0);
        const auto copy_clipped = [&](index_t j) {
          float* dst = patch(j);
          for (index_t v = 0; v < kw; ++v) {
            const index_t col = j * sw - pw + v;
            dst[v] = col >= 0 && col < width ? src[col * step] : 0.0f;
          }
        };
        for (index_t j = j0; j < fast_begin; ++j) {
          copy_clipped(j);
        }
        for (index_t j = fast_begin; j < fast_end; ++j) {
          float* dst = patch(j);
          const float* in = src + (j * sw - pw) * step;
          for (index_t v = 0; v < kw; ++v) {
            dst[v] = in[v * step];
          }
        }
        for (index_t j = fast_end; j < j1; ++j) {
          copy_clipped(j);
        }
      }
    }
  });
}

namespace detail {

// Element offset of pixel q of an [N, C, H, W] view's channel 0.
template <class T>
index_t pixel_offset(const TensorView<T, 4>& v, index_t q) {
  const index_t pixels = v.size(2) * v.size(3), p = q % pixels;
  return q / pixels * v.stride(0) + p / v.size(3) * v.stride(2) + p % v.size(3) * v.stride(3);
}

// Pixel-major rows [q0, q0 + count) <-> an [N, C, H, W] view, in square tiles of kTile pixels x kTile
// channels, channel tile by channel tile: the planes are walked as kTile sequential streams and each
// tile fills whole cache lines of the pixel rows.
constexpr index_t kTile = 16;

template <class Fn>
void for_each_tile(ThreadPool& pool, index_t count, index_t channels, Fn&& fn) {
  const index_t pixel_tiles = (count + kTile - 1) / kTile, channel_tiles = (channels + kTile - 1) / kTile;
  pool.parallel_for(pixel_tiles * channel_tiles, 16, [&](index_t begin, index_t end) {
    for (index_t tile = begin; tile < end; ++tile) {
      const index_t c0 = tile / pixel_tiles * kTile, r0 = tile % pixel_tiles * kTile;
      fn(r0, std::min(kTile, count - r0), c0, std::min(kTile, channels - c0));
    }
  });
}

}  // namespace detail

// rows[r, c] = x[n, c, i, j] for q = q0 + r. Any element type: it also transposes weights.
template <class T>
void gather_pixels(ThreadPool& pool, View<T, 2> rows, CView<T, 4> x, index_t q0) {
  const index_t channel_step = x.stride(1);
  detail::for_each_tile(pool, rows.size(0), x.size(1), [&](index_t r0, index_t r_count, index_t c0, index_t c_count) {
    index_t offset[detail::kTile];
    for (index_t t = 0; t < r_count; ++t) {
      offset[t] = detail::pixel_offset(x, q0 + r0 + t);
    }
    const T* src = x.data() + c0 * channel_step;
    for (index_t t = 0; t < r_count; ++t) {
      T* dst = &rows(r0 + t, c0);
      const T* pixel = src + offset[t];
      for (index_t c = 0; c < c_count; ++c) {
        dst[c] = pixel[c * channel_step];
      }
    }
  });
}

// y[n, o, i, j] = rows[r, o] for q = q0 + r.
inline void scatter_pixels(ThreadPool& pool, View<float, 4> y, CView<float, 2> rows, index_t q0) {
  const index_t ld = rows.stride(0), channel_step = y.stride(1);
  detail::for_each_tile(pool, rows.size(0), y.size(1), [&](index_t r0, index_t r_count, index_t o0, index_t o_count) {
    index_t offset[detail::kTile];
    for (index_t t = 0; t < r_count; ++t) {
      offset[t] = detail::pixel_offset(y, q0 + r0 + t);
    }
    const float* src = &rows(r0, o0);
    float* dst = y.data() + o0 * channel_step;
    for (index_t o = 0; o < o_count; ++o, dst += channel_step) {
      for (index_t t = 0; t < r_count; ++t) {
        dst[offset[t]] = src[t * ld + o];
      }
    }
  });
}

}  // namespace internvl::cpu
