// mmcv's ConvModule as UPerHead builds it (facts §6.2): a bias-free k×k convolution with padding
// k/2, then inference-mode BatchNorm (eps 1e-5 in the official configs), then ReLU:
//   y = ReLU( (conv(x, W) − μ) / sqrt(σ² + eps) · γ + β )
// Shapes: x [B, Cin, H, W] (any strides), W [Cout, Cin, k, k], y [B, Cout, H, W] with dense H×W
// planes (it may be a channel slice of a larger concatenation buffer). The BatchNorm is applied at
// run time, not folded into W, so the kernels stay in the checkpoint's memory and dtype.
// Names: <prefix>.conv.weight, <prefix>.bn.{weight, bias, running_mean, running_var}.
#pragma once

#include <string>

#include "internvl/heads/head_reader.hpp"
#include "internvl/ops/batch_norm.hpp"
#include "internvl/ops/conv2d.hpp"
#include "internvl/ops/relu.hpp"

namespace internvl::heads {

struct ConvModuleWeights {
  WeightView<4> conv;  // [Cout, Cin, k, k]
  ops::BatchNormParams bn;

  index_t out_channels() const { return conv.size(0); }
};

template <class Backend, class T>
ConvModuleWeights read_conv_module(HeadReader<Backend, T>& r, const std::string& prefix, index_t out, index_t in,
                                   index_t kernel, float bn_eps) {
  return {.conv = r.matrix(prefix + ".conv.weight", Extents<4>{out, in, kernel, kernel}),
          .bn = r.batch_norm(prefix + ".bn", out, bn_eps)};
}

template <class Backend, class T>
void conv_module(Context<Backend>& ctx, const ConvModuleWeights& w, View<T, 4> y, CView<T, 4> x) {
  const index_t pad = w.conv.size(2) / 2;
  ops::conv2d(ctx, y, x, w.conv, {}, Extents<2>{1, 1}, Extents<2>{pad, pad});
  ops::batch_norm(ctx, y, CView<T, 4>(y), w.bn.running_mean, w.bn.running_var, w.bn.weight, w.bn.bias, w.bn.eps);
  for (index_t b = 0; b < y.size(0); ++b) {  // per image: a channel slice's images do not collapse into rows
    ops::relu(ctx, y[b], CView<T, 3>(y[b]));
  }
}

}  // namespace internvl::heads
