// The UperNet segmentation head on InternViT (facts §6.2): four blocks' patch maps X_i [B, D, G, G]
// (G = Gh × Gw in general) become a feature pyramid inside the backbone, then mmseg's UPerHead decodes it.
//   pyramid  f1 = ConvT₂(GELU(LN_c(ConvT₂(X_0))))   4×   (up1: ConvTranspose2d k2 s2, channels-first
//            f2 = ConvT₂(X_1)                       2×    LayerNorm eps 1e-6, exact GELU)
//            f3 = X_2                               1×   (up3: identity)
//            f4 = MaxPool₂(X_3)                     ½×   (up4)
//   PPM      P_s = resize(CM₁(AvgPool_s(f4)), size f4) for s in pool_scales (1, 2, 3, 6)
//   laterals L_i = CM₁(f_i) (i = 1..3),  L_4 = CM₃(concat[f4, P_1, P_2, P_3, P_6])   (bottleneck)
//   top-down L_{i−1} += resize(L_i, size of L_{i−1})   for i = 4, 3, 2
//   FPN      O_i = CM₃(L_i) (i = 1..3), O_4 = L_4;  logits = conv₁(CM₃(concat_i resize(O_i, size f1)))
// CM_k is a ConvModule (conv_module.hpp: k×k conv, BatchNorm eps 1e-5, ReLU) to C channels (1536
// officially); resize is bilinear with align_corners False; logits [B, K, 4Gh, 4Gw].
// The head is fed level by level as the backbone computes the blocks (lateral() right after block
// i, without keeping X_i), then decode() runs the top-down path. Concatenations are buffers whose
// channel slices the producing ops write directly.
// Names: backbone.up1.{0,1,3}.{weight,bias}, backbone.up2.0.{weight,bias}, decode_head.psp_modules.{i}.1,
// decode_head.bottleneck, decode_head.lateral_convs.{0,1,2}, decode_head.fpn_convs.{0,1,2},
// decode_head.fpn_bottleneck (each .conv.weight + .bn.*), decode_head.conv_seg.{weight,bias}.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "internvl/core/workspace.hpp"
#include "internvl/heads/conv_module.hpp"
#include "internvl/heads/head_reader.hpp"
#include "internvl/ops/adaptive_avg_pool2d.hpp"
#include "internvl/ops/add.hpp"
#include "internvl/ops/conv_transpose2d.hpp"
#include "internvl/ops/gelu.hpp"
#include "internvl/ops/layer_norm_channels.hpp"
#include "internvl/ops/max_pool2d.hpp"
#include "internvl/ops/resize.hpp"

namespace internvl::heads {

struct UperNetWeights {
  // The pyramid (stored under backbone.).
  WeightView<4> up1_first, up1_second, up2;  // ConvTranspose2d kernels [D, D, 2, 2]
  CView<float, 1> up1_first_bias, up1_second_bias, up2_bias;
  CView<float, 1> up1_norm_weight, up1_norm_bias;  // channels-first LayerNorm [D]
  float ln_eps = 1e-6f;
  // UPerHead (stored under decode_head.).
  std::vector<index_t> pool_scales;
  std::vector<ConvModuleWeights> psp;        // 1×1, D → C, one per pool scale
  ConvModuleWeights bottleneck;              // 3×3, D + |scales|·C → C
  std::array<ConvModuleWeights, 3> lateral;  // 1×1, D → C
  std::array<ConvModuleWeights, 3> fpn;      // 3×3, C → C
  ConvModuleWeights fpn_bottleneck;          // 3×3, 4C → C
  WeightView<4> conv_seg;                    // [K, C, 1, 1]
  CView<float, 1> conv_seg_bias;             // [K]

  index_t channels() const { return bottleneck.out_channels(); }
  index_t num_classes() const { return conv_seg.size(0); }
};

template <class Backend, class T>
UperNetWeights read_upernet(HeadReader<Backend, T>& r, index_t width) {
  const HeadDescription& d = r.file().description();
  const index_t c = d.channels, scales = static_cast<index_t>(d.pool_scales.size());
  const Extents<4> transposed{width, width, 2, 2};
  UperNetWeights w;
  w.up1_first = r.matrix("backbone.up1.0.weight", transposed);
  w.up1_first_bias = r.vector("backbone.up1.0.bias", width);
  w.up1_norm_weight = r.vector("backbone.up1.1.weight", width);
  w.up1_norm_bias = r.vector("backbone.up1.1.bias", width);
  w.up1_second = r.matrix("backbone.up1.3.weight", transposed);
  w.up1_second_bias = r.vector("backbone.up1.3.bias", width);
  w.up2 = r.matrix("backbone.up2.0.weight", transposed);
  w.up2_bias = r.vector("backbone.up2.0.bias", width);
  w.ln_eps = d.ln_eps;
  w.pool_scales = d.pool_scales;
  for (index_t i = 0; i < scales; ++i) {
    w.psp.push_back(read_conv_module(r, "decode_head.psp_modules." + std::to_string(i) + ".1", c, width, 1, d.bn_eps));
  }
  w.bottleneck = read_conv_module(r, "decode_head.bottleneck", c, width + scales * c, 3, d.bn_eps);
  for (int i = 0; i < 3; ++i) {
    w.lateral[i] = read_conv_module(r, "decode_head.lateral_convs." + std::to_string(i), c, width, 1, d.bn_eps);
    w.fpn[i] = read_conv_module(r, "decode_head.fpn_convs." + std::to_string(i), c, c, 3, d.bn_eps);
  }
  w.fpn_bottleneck = read_conv_module(r, "decode_head.fpn_bottleneck", c, 4 * c, 3, d.bn_eps);
  w.conv_seg = r.matrix("decode_head.conv_seg.weight", Extents<4>{d.num_classes, c, 1, 1});
  w.conv_seg_bias = r.vector("decode_head.conv_seg.bias", d.num_classes);
  return w;
}

// The lateral maps L_1..L_4 [B, C, h_i, w_i] of one forward pass: 4×, 2×, 1× and ½× the grid.
template <class T>
struct UperNetLaterals {
  std::array<View<T, 4>, 4> maps;
};

// The pyramid's spatial size at level i (0..3) for a Gh × Gw grid.
inline Extents<2> pyramid_size(int level, index_t grid_h, index_t grid_w) {
  constexpr index_t kNumerator[] = {4, 2, 1, 1}, kDenominator[] = {1, 1, 1, 2};
  return {grid_h * kNumerator[level] / kDenominator[level], grid_w * kNumerator[level] / kDenominator[level]};
}

// Takes the four lateral maps from the workspace (the caller's scope); grids of at least 2×2.
template <class Backend, class T>
UperNetLaterals<T> allocate_laterals(Context<Backend>& ctx, const UperNetWeights& w, index_t batch, index_t grid_h,
                                     index_t grid_w) {
  INTERNVL_CHECK(grid_h >= 2 && grid_w >= 2, "heads::upernet", "a ", grid_h, "x", grid_w,
                 " patch grid is too small for the pyramid's 2x2 max pooling");
  UperNetLaterals<T> laterals;
  for (int level = 0; level < 4; ++level) {
    const Extents<2> size = pyramid_size(level, grid_h, grid_w);
    laterals.maps[level] = ctx.workspace().template tensor<T>(Extents<4>{batch, w.channels(), size[0], size[1]});
  }
  return laterals;
}

// L_level from the pyramid level's source map x [B, D, Gh, Gw] (a block's tokens, token_grid.hpp).
template <class Backend, class T>
void upernet_lateral(Context<Backend>& ctx, const UperNetWeights& w, int level, UperNetLaterals<T>& laterals,
                     CView<T, 4> x) {
  const index_t batch = x.size(0), width = x.size(1), grid_h = x.size(2), grid_w = x.size(3);
  auto& ws = ctx.workspace();
  auto scope = ws.scope();
  View<T, 4> lateral = laterals.maps[level];
  if (level == 0) {  // up1: ConvT → LayerNorm over channels → GELU → ConvT
    View<T, 4> half = ws.template tensor<T>(Extents<4>{batch, width, 2 * grid_h, 2 * grid_w});
    ops::conv_transpose2d(ctx, half, x, w.up1_first, w.up1_first_bias);
    ops::layer_norm_channels(ctx, half, CView<T, 4>(half), w.up1_norm_weight, w.up1_norm_bias, w.ln_eps);
    ops::gelu(ctx, half, CView<T, 4>(half));
    View<T, 4> f1 = ws.template tensor<T>(Extents<4>{batch, width, 4 * grid_h, 4 * grid_w});
    ops::conv_transpose2d(ctx, f1, CView<T, 4>(half), w.up1_second, w.up1_second_bias);
    conv_module(ctx, w.lateral[0], lateral, CView<T, 4>(f1));
  } else if (level == 1) {  // up2: ConvT
    View<T, 4> f2 = ws.template tensor<T>(Extents<4>{batch, width, 2 * grid_h, 2 * grid_w});
    ops::conv_transpose2d(ctx, f2, x, w.up2, w.up2_bias);
    conv_module(ctx, w.lateral[1], lateral, CView<T, 4>(f2));
  } else if (level == 2) {  // up3: identity
    conv_module(ctx, w.lateral[2], lateral, x);
  } else {  // up4: max pooling, written straight into the PPM's concatenation [f4, P_1, ...]
    const index_t c = w.channels(), h = lateral.size(2), wd = lateral.size(3);
    const index_t scales = static_cast<index_t>(w.pool_scales.size());
    View<T, 4> concat = ws.template tensor<T>(Extents<4>{batch, width + scales * c, h, wd});
    const View<T, 4> f4 = concat.slice(1, 0, width);
    ops::max_pool2d(ctx, f4, x);
    for (index_t i = 0; i < scales; ++i) {
      auto inner = ws.scope();
      const index_t s = w.pool_scales[static_cast<std::size_t>(i)];
      View<T, 4> pooled = ws.template tensor<T>(Extents<4>{batch, width, s, s});
      ops::adaptive_avg_pool2d(ctx, pooled, CView<T, 4>(f4));
      View<T, 4> reduced = ws.template tensor<T>(Extents<4>{batch, c, s, s});
      conv_module(ctx, w.psp[static_cast<std::size_t>(i)], reduced, CView<T, 4>(pooled));
      ops::resize(ctx, concat.slice(1, width + i * c, width + (i + 1) * c), CView<T, 4>(reduced),
                  ops::ResizeMode::bilinear);
    }
    conv_module(ctx, w.bottleneck, lateral, CView<T, 4>(concat));
  }
}

// logits [B, K, 4Gh, 4Gw] from the four laterals (which the top-down path updates in place).
template <class Backend, class T>
void upernet_decode(Context<Backend>& ctx, const UperNetWeights& w, UperNetLaterals<T>& laterals, View<T, 4> logits) {
  auto& ws = ctx.workspace();
  auto scope = ws.scope();
  auto& l = laterals.maps;
  const index_t batch = l[0].size(0), c = w.channels(), h = l[0].size(2), wd = l[0].size(3);
  for (int i = 3; i >= 1; --i) {  // top-down: L_{i−1} += resize(L_i)
    auto inner = ws.scope();
    View<T, 4> up = ws.template tensor<T>(l[i - 1].shape());
    ops::resize(ctx, up, CView<T, 4>(l[i]), ops::ResizeMode::bilinear);
    const Extents<2> rows{l[i - 1].size(0) * c, l[i - 1].size(2) * l[i - 1].size(3)};
    ops::add(ctx, l[i - 1].reshape(rows), CView<T, 4>(l[i - 1]).reshape(rows), CView<T, 4>(up).reshape(rows));
  }
  View<T, 4> concat = ws.template tensor<T>(Extents<4>{batch, 4 * c, h, wd});  // [O_1, O_2, O_3, O_4] at f1's size
  for (int i = 0; i < 4; ++i) {
    const View<T, 4> slot = concat.slice(1, i * c, (i + 1) * c);
    if (i == 0) {
      conv_module(ctx, w.fpn[0], slot, CView<T, 4>(l[0]));
      continue;
    }
    auto inner = ws.scope();
    CView<T, 4> out = l[i];
    if (i < 3) {
      View<T, 4> fpn_out = ws.template tensor<T>(l[i].shape());
      conv_module(ctx, w.fpn[static_cast<std::size_t>(i)], fpn_out, CView<T, 4>(l[i]));
      out = fpn_out;
    }
    ops::resize(ctx, slot, out, ops::ResizeMode::bilinear);
  }
  View<T, 4> fused = ws.template tensor<T>(Extents<4>{batch, c, h, wd});
  conv_module(ctx, w.fpn_bottleneck, fused, CView<T, 4>(concat));
  ops::conv2d(ctx, logits, CView<T, 4>(fused), w.conv_seg, w.conv_seg_bias);
}

}  // namespace internvl::heads
