// Moving tensors between the host and a backend's memory, so that one program can run on any
// backend:  CView<T, 4> pixels = to_backend<T>(ctx, host_pixels);  Tensor<float, 3> out = to_host(ctx, hidden);
// The host backends compute on host memory in f32, so both directions are a view or a plain copy;
// the CUDA backend specialises Transfer (device copies in its workspace, dtype conversion). Integer
// data that kernels read (token ids, attention masks) moves unchanged: place_on_backend(ctx, host).
#pragma once

#include <algorithm>

#include "internvl/backend/tags.hpp"
#include "internvl/core/tensor.hpp"

namespace internvl {

template <class Backend>
struct Transfer {
  // A view of `host` that Backend's kernels can read, valid while `host` and the current workspace scope live.
  template <class T, std::size_t Rank>
  static CView<T, Rank> to_backend(Context<Backend>&, CView<float, Rank> host) {
    static_assert(std::is_same_v<T, float>, "internvl: host backends compute in f32");
    return host;
  }
  // A view of host data of any element type (token ids, masks) that Backend's kernels can read, the
  // element type unchanged; valid while `host` and the current workspace scope live. `host` is contiguous.
  template <class E, std::size_t Rank>
  static CView<E, Rank> place(Context<Backend>&, CView<E, Rank> host) {
    return host;
  }
  // A host f32 copy of a backend tensor.
  template <class T, std::size_t Rank>
  static Tensor<float, Rank> to_host(Context<Backend>&, CView<T, Rank> v) {
    Tensor<float, Rank> out(v.shape());
    float* dst = out.data();
    for_each_element(v, [&](const T& x) { *dst++ = static_cast<float>(x); });
    return out;
  }
};

template <class T, class Backend, std::size_t Rank>
CView<T, Rank> to_backend(Context<Backend>& ctx, CView<float, Rank> host) {
  return Transfer<Backend>::template to_backend<T, Rank>(ctx, host);
}

template <class Backend, class E, std::size_t Rank>
CView<E, Rank> place_on_backend(Context<Backend>& ctx, CView<E, Rank> host) {
  INTERNVL_CHECK(host.is_contiguous(), "place_on_backend", "the host data must be contiguous, got shape ",
                 shape_string(host));
  return Transfer<Backend>::place(ctx, host);
}

template <class Backend, class T, std::size_t Rank>
Tensor<float, Rank> to_host(Context<Backend>& ctx, CView<T, Rank> v) {
  return Transfer<Backend>::to_host(ctx, v);
}

}  // namespace internvl
