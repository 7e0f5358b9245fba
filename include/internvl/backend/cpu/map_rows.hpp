// map_rows: y[i, j] = fn(in₀[i, j], in₁[i, j], ...) over matrices with dense rows, where fn maps
// vectors to a vector (cpu::VecF). Rows are split over the thread pool; each row's tail goes through
// the same fn on padded vectors, so every element sees identical arithmetic. An input may be y
// itself (in place), or a parameter vector broadcast to every row (broadcast_rows: row stride 0).
#pragma once

#include "internvl/backend/cpu/simd.hpp"
#include "internvl/core/thread_pool.hpp"

namespace internvl::cpu {

// The vector v [D] seen as a matrix [rows, D] whose rows are all v.
inline CView<float, 2> broadcast_rows(const CView<float, 1>& v, index_t rows) {
  return {v.data(), Extents<2>{rows, v.size(0)}, Extents<2>{0, 1}};
}

// out[j] = fn(in₀[j], in₁[j], ...) for j in [0, n), over dense spans.
template <class Fn, class... In>
void map_span(float* out, index_t n, const Fn& fn, const In*... in) {
  index_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    store(out + j, fn(load(in + j)...));
  }
  if (j < n) {
    store_tail(out + j, fn(load_tail(in + j, n - j)...), n - j);
  }
}

template <class Fn, class... In>
void map_rows(ThreadPool& pool, const View<float, 2>& y, const Fn& fn, const TensorView<In, 2>&... in) {
  const index_t width = y.size(1);
  pool.parallel_for(y.size(0), rows_per_chunk(width), [&](index_t begin, index_t end) {
    for (index_t i = begin; i < end; ++i) {
      map_span(y.data() + i * y.stride(0), width, fn, (in.data() + i * in.stride(0))...);
    }
  });
}

}  // namespace internvl::cpu
