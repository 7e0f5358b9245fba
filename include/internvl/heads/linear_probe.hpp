// The linear probe of InternViT-6B's ImageNet evaluation (facts §5, cls_target 'cls_patch_concat'):
//   f = concat( X[b, 0, :], 1/N Σ_{s=1..N} X[b, s, :] )          [B, 2D]   class token, mean patch token
//   z = (f − μ) / sqrt(σ² + eps) · γ + β                           BatchNorm1d(2D), eps 1e-6 officially
//   logits = z · Wᵀ + b                                           [B, K]    Linear(2D → K)
// X [B, 1 + N, D] is the output of the backbone's last block (no final norm).
// Names: norm.{weight, bias, running_mean, running_var} [2D], head.weight [K, 2D], head.bias [K].
// The BatchNorm runs per half, which also writes the class token into f (no separate copy).
#pragma once

#include "internvl/heads/head_reader.hpp"
#include "internvl/ops/batch_norm.hpp"
#include "internvl/ops/linear.hpp"
#include "internvl/ops/mean_tokens.hpp"

namespace internvl::heads {

struct LinearProbeWeights {
  ops::BatchNormParams norm;  // over 2D features
  WeightView<2> head;         // [K, 2D]
  CView<float, 1> head_bias;  // [K]
};

// Channels [begin, end) of a BatchNorm.
inline ops::BatchNormParams channel_range(const ops::BatchNormParams& p, index_t begin, index_t end) {
  return {.running_mean = p.running_mean.slice(0, begin, end),
          .running_var = p.running_var.slice(0, begin, end),
          .weight = p.weight.slice(0, begin, end),
          .bias = p.bias.slice(0, begin, end),
          .eps = p.eps};
}

template <class Backend, class T>
LinearProbeWeights read_linear_probe(HeadReader<Backend, T>& r, index_t width) {
  const HeadDescription& d = r.file().description();
  return {.norm = r.batch_norm("norm", 2 * width, d.bn_eps),
          .head = r.matrix("head.weight", Extents<2>{d.num_classes, 2 * width}),
          .head_bias = r.vector("head.bias", d.num_classes)};
}

// logits [B, K] from the last block's tokens [B, 1 + N, D].
template <class Backend, class T>
void linear_probe(Context<Backend>& ctx, const LinearProbeWeights& w, View<T, 2> logits, CView<T, 3> tokens) {
  const index_t batch = tokens.size(0), length = tokens.size(1), width = tokens.size(2);
  INTERNVL_CHECK(length >= 2 && w.norm.running_mean.size(0) == 2 * width, "heads::linear_probe", "tokens ",
                 shape_string(tokens), " do not fit a probe over ", w.norm.running_mean.size(0),
                 " features (class token + at least one patch token of width D, 2D features)");
  auto& ws = ctx.workspace();
  auto scope = ws.scope();
  View<T, 2> features = ws.template tensor<T>(Extents<2>{batch, 2 * width});  // [B, 2D]
  View<T, 2> cls = features.slice(1, 0, width), patches = features.slice(1, width, 2 * width);
  const auto bn = [&](View<T, 2> y, CView<T, 2> x, const ops::BatchNormParams& p) {
    ops::batch_norm(ctx, y, x, p.running_mean, p.running_var, p.weight, p.bias, p.eps);
  };
  const CView<T, 2> class_tokens(tokens.data(), Extents<2>{batch, width},
                                 Extents<2>{tokens.stride(0), tokens.stride(2)});
  bn(cls, class_tokens, channel_range(w.norm, 0, width));
  ops::mean_tokens(ctx, patches, tokens, 1, length);
  bn(patches, CView<T, 2>(patches), channel_range(w.norm, width, 2 * width));
  ops::linear(ctx, logits, CView<T, 2>(features), w.head, w.head_bias);
}

}  // namespace internvl::heads
