// The linear segmentation head (facts §6.1, mmseg FCNHead with num_convs 0 and a norm): the patch
// tokens of one block's output, as a map F [B, D, Gh, Gw], go through BatchNorm2d (eps 1e-5) and a
// 1×1 convolution to K classes, at the grid's resolution:
//   logits[b, k, y, x] = b_k + Σ_c W[k, c] · ((F[b, c, y, x] − μ_c) / sqrt(σ²_c + eps) · γ_c + β_c)
// Official: block 44 of 48 (hidden state 45), crop 504 → 36×36 logits, resized by the caller.
// Names: decode_head.norm.{weight, bias, running_mean, running_var} [D], decode_head.conv_seg.weight
// [K, D, 1, 1], decode_head.conv_seg.bias [K]. The BatchNorm runs on the token rows (it is per channel,
// so the layout does not matter), then the convolution reads them as a grid.
#pragma once

#include "internvl/heads/head_reader.hpp"
#include "internvl/heads/token_grid.hpp"
#include "internvl/ops/batch_norm.hpp"
#include "internvl/ops/conv2d.hpp"

namespace internvl::heads {

struct SegLinearWeights {
  ops::BatchNormParams norm;      // [D]
  WeightView<4> conv_seg;         // [K, D, 1, 1]
  CView<float, 1> conv_seg_bias;  // [K]
};

template <class Backend, class T>
SegLinearWeights read_seg_linear(HeadReader<Backend, T>& r, index_t width) {
  const HeadDescription& d = r.file().description();
  return {.norm = r.batch_norm("decode_head.norm", width, d.bn_eps),
          .conv_seg = r.matrix("decode_head.conv_seg.weight", Extents<4>{d.num_classes, width, 1, 1}),
          .conv_seg_bias = r.vector("decode_head.conv_seg.bias", d.num_classes)};
}

// logits [B, K, Gh, Gw] from one block's tokens [B, 1 + Gh·Gw, D].
template <class Backend, class T>
void seg_linear(Context<Backend>& ctx, const SegLinearWeights& w, View<T, 4> logits, CView<T, 3> tokens, index_t grid_h,
                index_t grid_w) {
  const index_t batch = tokens.size(0), patches = grid_h * grid_w, width = tokens.size(2);
  auto& ws = ctx.workspace();
  auto scope = ws.scope();
  View<T, 3> normed = ws.template tensor<T>(Extents<3>{batch, 1 + patches, width});  // the class row unused
  for (index_t b = 0; b < batch; ++b) {
    const auto& p = w.norm;
    ops::batch_norm(ctx, normed[b].slice(0, 1, 1 + patches), tokens[b].slice(0, 1, 1 + patches), p.running_mean,
                    p.running_var, p.weight, p.bias, p.eps);
  }
  ops::conv2d(ctx, logits, token_grid(CView<T, 3>(normed), grid_h, grid_w), w.conv_seg, w.conv_seg_bias);
}

}  // namespace internvl::heads
