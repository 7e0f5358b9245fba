// The element-wise kernel behind ops::add, ops::gelu and ops::scaled_residual_add on CUDA:
//   out[r, c] = fn(a[r, c], b[r, c], c)          (fn(a[r, c], 0, c) when Fn::kInputs == 1)
// over [rows, cols] matrices with dense rows and any row pitches, evaluated in f32 and rounded once to
// the element type. The (row, pack of columns) pairs are spread over a grid-stride loop, so narrow and
// wide rows both fill the GPU; 16-byte packs when the width and every row start allow it. out may be a
// or b (in place): every element is read before the same thread writes it.
#pragma once

#include <climits>

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/backend/cuda/pack.cuh"

namespace internvl::cuda {

template <class NT, int kPack, class Fn>
__device__ void map_pack(NT* out, const NT* a, const NT* b, int col, const Fn& fn) {
  const Pack<NT, kPack> av = load_pack<kPack>(a);
  Pack<NT, kPack> bv{};
  if constexpr (Fn::kInputs == 2) {
    bv = load_pack<kPack>(b);
  }
  Pack<NT, kPack> result;
#pragma unroll
  for (int j = 0; j < kPack; ++j) {
    result.v[j] = from_f32<NT>(fn(to_f32(av.v[j]), Fn::kInputs == 2 ? to_f32(bv.v[j]) : 0.0f, col + j));
  }
  store_pack<kPack>(out, result);
}

template <class NT, int kPack, class Fn>
__global__ void map_rows_kernel(NT* out, index_t out_pitch, const NT* a, index_t a_pitch, const NT* b, index_t b_pitch,
                                index_t rows, int packs_per_row, Fn fn) {
  const index_t total = rows * packs_per_row;
  const index_t step = static_cast<index_t>(gridDim.x) * blockDim.x;
  for (index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const index_t row = i / packs_per_row;
    const int col = static_cast<int>(i - row * packs_per_row) * kPack;
    map_pack<NT, kPack>(out + row * out_pitch + col, a + row * a_pitch + col, b + row * b_pitch + col, col, fn);
  }
}

namespace detail {

// out = fn(a, b) element by element; b is ignored (may be empty) when Fn::kInputs == 1. The caller has
// checked shapes and device pointers.
template <class T, class Fn>
void map_rows(Context<backend::cuda>& ctx, std::string_view op, View<T, 2> out, CView<T, 2> a, CView<T, 2> b,
              const Fn& fn) {
  const index_t rows = out.size(0), cols = out.size(1);
  if (rows == 0 || cols == 0) {
    return;
  }
  INTERNVL_CHECK(cols <= INT_MAX, op, "rows of ", cols, " elements are too wide for one launch");
  if constexpr (Fn::kInputs == 1) {
    b = a;
  }
  using NT = native_t<T>;
  constexpr int kPack = 16 / sizeof(T);
  constexpr int kThreads = 256;
  const bool packed = cols % kPack == 0 && pack_fits(out.data(), out.stride(0), 16) &&
                      pack_fits(a.data(), a.stride(0), 16) && pack_fits(b.data(), b.stride(0), 16);
  const int pack = packed ? kPack : 1;
  const index_t packs_per_row = cols / pack;
  const auto run = [&](auto kernel) {
    launch(ctx, "map_rows", kernel, dim3(grid_stride_blocks(rows * packs_per_row, kThreads)), dim3(kThreads), 0,
           native(out.data()), out.stride(0), native(a.data()), a.stride(0), native(b.data()), b.stride(0), rows,
           static_cast<int>(packs_per_row), fn);
  };
  if (packed) {
    run(map_rows_kernel<NT, kPack, Fn>);
  } else {
    run(map_rows_kernel<NT, 1, Fn>);
  }
}

}  // namespace detail

}  // namespace internvl::cuda
