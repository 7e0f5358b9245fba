// The heads compute in f32 on every backend: their norms, linear layers, convolutions, pooling and resizes
// (the official segmentation heads do too; the official classification evaluation runs its probes under
// fp16 autocast, which f32 only refines). The backbone's hidden states, bf16 on CUDA by default, become f32
// as they enter a head:
//   features[b, s, d] = f32( tokens[b, s, d] )         tokens [B, S, D] (dense rows) -> features [B, S, D]
// On a backbone that runs in f32 the tokens are the features and nothing is copied.
#pragma once

#include <type_traits>

#include "internvl/core/workspace.hpp"
#include "internvl/ops/copy.hpp"

namespace internvl::heads {

// The tokens as f32 features; when T is not f32, a converted copy taken from the workspace (the caller's scope).
template <class Backend, class T>
CView<float, 3> head_features(Context<Backend>& ctx, CView<T, 3> tokens) {
  if constexpr (std::is_same_v<T, float>) {
    return tokens;
  } else {
    const Extents<3> shape = tokens.shape();
    const View<float, 3> features = ctx.workspace().template tensor<float>(shape);
    const Extents<4> batched{1, shape[0], shape[1], shape[2]};
    const CView<T, 4> from(
        tokens.data(), batched,
        Extents<4>{shape[0] * tokens.stride(0), tokens.stride(0), tokens.stride(1), tokens.stride(2)});
    ops::copy(ctx, features.reshape(batched), from);
    return features;
  }
}

}  // namespace internvl::heads
