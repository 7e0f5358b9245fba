// Multi-head scaled dot-product attention (self or cross):
//   O[b, i, h, :] = Σ_j p_ij · V[b, j, h, :],   p_ij = softmax_j( scale · Q[b, i, h, :]·K[b, j, h, :] )
// over the keys j visible to query i: all of them, or j <= i + Sk - Sq (causal, needs Sq <= Sk: the
// queries are the last Sq positions of the Sk keys' sequence, as when decoding with cached keys, or
// text that follows a prefix every text position sees), and only keys with key_mask[b, j] != 0 when
// a key mask is given. A query that sees no key gets O = 0
// (as PyTorch >= 2.5's scaled_dot_product_attention does; a plain softmax would give NaN).
// Shapes: Q, O [B, Sq, H, Dh]; K, V [B, Sk, H, Dh]. Any strides with unit stride along Dh, so
// Q/K/V can be views into one packed QKV projection [B·S, 3·H·Dh]. Softmax in f32.
#pragma once

#include <cstdint>
#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

struct AttentionOptions {
  float scale = 1.0f;                    // usually 1/sqrt(Dh)
  bool causal = false;                   // key j visible to query i only if j <= i + Sk - Sq
  CView<std::uint8_t, 2> key_mask = {};  // [B, Sk], nonzero = visible; empty = all visible
};

template <class Backend>
struct Attention {
  static_assert(dependent_false<Backend>,
                "internvl: ops::attention has no implementation for this backend; include "
                "<internvl/backend/<backend>/attention.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void attention(Context<Backend>& ctx, View<T, 4> out, std::type_identity_t<CView<T, 4>> q,
               std::type_identity_t<CView<T, 4>> k, std::type_identity_t<CView<T, 4>> v,
               const AttentionOptions& options) {
  static_assert(computes_in<Backend, T>,
                "internvl: ops::attention: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::attention";
  detail::check_same_shape(op, "out", out, "q", q);
  detail::check_same_shape(op, "k", k, "v", v);
  INTERNVL_CHECK(k.size(0) == q.size(0) && k.size(2) == q.size(2) && k.size(3) == q.size(3), op, "q ", shape_string(q),
                 " and k ", shape_string(k), " disagree on batch, heads or head dim");
  INTERNVL_CHECK(!options.causal || q.size(1) <= k.size(1), op, "causal attention needs no more queries than keys (q ",
                 shape_string(q), ", k ", shape_string(k), ")");
  if (options.key_mask.data() != nullptr) {
    detail::check_shape(op, "key_mask", options.key_mask, Extents<2>{k.size(0), k.size(1)});
  }
  detail::check_dense_rows(op, "q", q);
  detail::check_dense_rows(op, "k", k);
  detail::check_dense_rows(op, "v", v);
  detail::check_dense_rows(op, "out", out);
  detail::profiled(ctx, op, 2 * detail::multiply_add_flops(q.numel(), k.size(1)),
                   [&] { Attention<Backend>::run(ctx, out, q, k, v, options); });
}

}  // namespace internvl::ops
