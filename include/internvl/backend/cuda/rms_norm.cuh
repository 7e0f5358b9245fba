// RMSNorm on CUDA:  y[i, :] = w ⊙ x[i, :] / sqrt(mean_j x[i, j]² + eps)
// One block of 256 threads per row (norm_row.cuh): pass 1 sums the squares of the row in f32 (CUB block
// reduction), pass 2 rereads the row (from L1/L2) and scales it. Rows move in 16-byte packs when the
// width and every row start allow it, element by element otherwise, so any width and any row pitch work
// (3200, 4096, 1024, 17; q and k as strided views into a packed QKV buffer). y may be x (in place).
#pragma once

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/memory.cuh"
#include "internvl/backend/cuda/norm_row.cuh"
#include "internvl/ops/rms_norm.hpp"

namespace internvl::ops {

template <>
struct RmsNorm<backend::cuda> {
  template <class T>
  static void run(Context<backend::cuda>& ctx, View<T, 2> y, CView<T, 2> x, CView<float, 1> w, float eps) {
    constexpr std::string_view op = "ops::rms_norm";
    if (x.numel() == 0) {
      return;
    }
    cuda::detail::check_on_device(op, "x", x);
    cuda::detail::check_on_device(op, "y", y);
    cuda::detail::check_on_device(op, "weight", w);
    INTERNVL_CHECK(x.size(1) == 1 || w.stride(0) == 1, op, "the weight must be contiguous on CUDA (stride ",
                   w.stride(0), ")");
    cuda::detail::norm_rows<config::Norm::rms_norm, false>(ctx, op, y, x, CView<T, 2>{}, CView<float, 1>{}, w,
                                                           CView<float, 1>{}, eps);
  }
};

}  // namespace internvl::ops
