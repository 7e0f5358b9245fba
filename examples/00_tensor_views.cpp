// 00 · Tensor views. The one idea: a view is a pointer plus a shape and a stride per dimension, so one
// buffer can be seen many ways without copying. InternViT's attention uses exactly this: the packed
// QKV projection [S, 3D] is seen as three [S, H, Dh] tensors (q, k, v) with a row stride of 3D.
//
//   build/examples/00_tensor_views
#include <cstdio>
#include <numeric>

#include "internvl/core/tensor.hpp"

using namespace internvl;

int main() {
  // A packed projection for S = 3 tokens, H = 2 heads of Dh = 2 channels: D = 4, so [3, 12].
  constexpr index_t S = 3, H = 2, Dh = 2, D = H * Dh;
  Tensor<float, 2> qkv(Extents<2>{S, 3 * D});
  std::iota(qkv.data(), qkv.data() + qkv.numel(), 0.0f);  // element (s, c) holds s·12 + c

  // q, k, v: columns [0, D), [D, 2D), [2D, 3D) of every row. Slicing keeps the row stride 3D.
  CView<float, 2> q = qkv.view().slice(1, 0, D);
  CView<float, 2> v = qkv.view().slice(1, 2 * D, 3 * D);
  std::printf("q is [%lld, %lld] with strides [%lld, %lld]; contiguous: %s\n", (long long)q.size(0),
              (long long)q.size(1), (long long)q.stride(0), (long long)q.stride(1), q.is_contiguous() ? "yes" : "no");

  // The same memory as [S, H, Dh]: head h of token s starts at column h·Dh. No data moves.
  CView<float, 3> q_heads(q.data(), Extents<3>{S, H, Dh}, Extents<3>{3 * D, Dh, 1});
  for (index_t s = 0; s < S; ++s) {
    for (index_t h = 0; h < H; ++h) {
      std::printf("q[token %lld, head %lld] = (%g, %g)\n", (long long)s, (long long)h, q_heads(s, h, 0), q_heads(s, h, 1));
    }
  }

  // Transposing swaps two extents and their strides: [S, D] becomes [D, S], still the same buffer.
  CView<float, 2> v_t = v.transpose(0, 1);
  std::printf("v transposed: [%lld, %lld], v_t(1, 2) = %g = v(2, 1) = %g\n", (long long)v_t.size(0),
              (long long)v_t.size(1), v_t(1, 2), v(2, 1));

  // What a view cannot do silently: reshape a non-contiguous view (it throws, naming the shape).
  try {
    (void)q.reshape(Extents<1>{S * D});
  } catch (const Error& e) {
    std::printf("as expected: %s\n", e.what());
  }
  return 0;
}
