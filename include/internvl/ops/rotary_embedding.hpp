// Rotary position embedding (RoPE) of QLLaMA's queries and keys, rotate-half convention (facts §2.2):
//   θ_i = base^(−2i/Dh), i ∈ [0, Dh/2);   p = first_position + s for token s of every sequence
//   y[b, s, h, i]        = x[b, s, h, i] · cos(p θ_i) − x[b, s, h, i + Dh/2] · sin(p θ_i)
//   y[b, s, h, i + Dh/2] = x[b, s, h, i + Dh/2] · cos(p θ_i) + x[b, s, h, i] · sin(p θ_i)
// Shapes: x, y [B, S, H, Dh], Dh even, dense along Dh, any other strides (q and k are views into one
// packed projection). The angles follow PyTorch's f32 recipe (rope_angle below); y may be x (in place).
#pragma once

#include <cmath>
#include <type_traits>

#include "internvl/backend/tags.hpp"
#include "internvl/ops/checks.hpp"
#include "internvl/ops/profiled.hpp"

namespace internvl::ops {

struct RotaryOptions {
  float base = 10000.0f;       // θ base (LLaMA's 10000)
  index_t first_position = 0;  // position of token 0 (0 unless earlier tokens are cached)
};

// The angle p·θ_i as modeling_qllama.py's rotary embedding computes it, in f32: the exponent 2i/Dh,
// inv_freq = 1 / base^exponent and the product p·inv_freq are each rounded to f32. cos and sin of it
// are then taken (correctly rounded to f32 on the host backends).
inline float rope_angle(index_t position, index_t i, index_t head_dim, float base) {
  const float exponent = static_cast<float>(2 * i) / static_cast<float>(head_dim);
  const auto power = static_cast<float>(std::pow(static_cast<double>(base), static_cast<double>(exponent)));
  const float inv_freq = 1.0f / power;
  return static_cast<float>(position) * inv_freq;
}

template <class Backend>
struct RotaryEmbedding {
  static_assert(dependent_false<Backend>,
                "internvl: ops::rotary_embedding has no implementation for this backend; include "
                "<internvl/backend/<backend>/rotary_embedding.hpp> (or <internvl/cuda.hpp>)");
};

template <class Backend, class T>
void rotary_embedding(Context<Backend>& ctx, View<T, 4> y, std::type_identity_t<CView<T, 4>> x,
                      const RotaryOptions& options = {}) {
  static_assert(computes_in<Backend, T>,
                "internvl: ops::rotary_embedding: this backend does not compute in this element type");
  constexpr std::string_view op = "ops::rotary_embedding";
  detail::check_same_shape(op, "y", y, "x", x);
  INTERNVL_CHECK(x.size(3) % 2 == 0, op, "head dim must be even to rotate its halves, x has shape ", shape_string(x));
  INTERNVL_CHECK(options.first_position >= 0, op, "first_position must be >= 0, got ", options.first_position);
  INTERNVL_CHECK(options.base > 0.0f && std::isfinite(options.base), op, "base must be positive and finite, got ",
                 options.base);
  detail::check_dense_rows(op, "x", x);
  detail::check_dense_rows(op, "y", y);
  detail::profiled(ctx, op, 0.0, [&] { RotaryEmbedding<Backend>::run(ctx, y, x, options); });
}

}  // namespace internvl::ops
