// The answers CUDA results are checked against: backend::reference, run on the host over all cores
// (independent slices of the problem in parallel). Declared here, compiled by the host compiler in
// oracle.cpp, so nvcc never sees the reference backend (or Eigen).
#pragma once

#include "internvl/config/vision.hpp"
#include "internvl/core/tensor.hpp"
#include "internvl/core/weight_view.hpp"
#include "internvl/ops/attention.hpp"
#include "internvl/ops/batch_norm.hpp"
#include "internvl/ops/linear.hpp"
#include "internvl/ops/pixel_shuffle.hpp"
#include "internvl/ops/resize.hpp"
#include "internvl/ops/rotary_embedding.hpp"

namespace internvl::testing {

// y = act(x · wᵀ + bias); bias may be empty.
Tensor<float, 2> reference_linear(CView<float, 2> x, CView<float, 2> w, CView<float, 1> bias, ops::Activation act);

Tensor<float, 2> reference_rms_norm(CView<float, 2> x, CView<float, 1> w, float eps);

Tensor<float, 2> reference_layer_norm(CView<float, 2> x, CView<float, 1> w, CView<float, 1> b, float eps);

// x += γ ⊙ y, then h = Norm(x); returns {x, h}. b is empty for RMSNorm.
struct ResidualNorm {
  Tensor<float, 2> x, h;
};
ResidualNorm reference_scaled_residual_add_norm(CView<float, 2> x, CView<float, 2> y, CView<float, 1> gamma,
                                                config::Norm norm, CView<float, 1> w, CView<float, 1> b, float eps);

Tensor<float, 2> reference_scaled_residual_add(CView<float, 2> x, CView<float, 2> y, CView<float, 1> gamma);
Tensor<float, 2> reference_add(CView<float, 2> a, CView<float, 2> b);
Tensor<float, 2> reference_gelu(CView<float, 2> x);
Tensor<float, 2> reference_softmax(CView<float, 2> x);
Tensor<float, 2> reference_mean_tokens(CView<float, 3> x, index_t begin, index_t end);
Tensor<float, 3> reference_patchify(CView<float, 4> pixels, index_t patch);
Tensor<float, 3> reference_assemble_tokens(CView<float, 3> patch_tokens, CView<float, 1> cls, CView<float, 2> pos);
Tensor<float, 3> reference_pixel_shuffle(CView<float, 3> in, ops::PixelShuffleVersion version);

Tensor<float, 2> reference_swiglu(CView<float, 2> gate, CView<float, 2> up);
// x [B, S, H, Dh], any strides with dense rows.
Tensor<float, 4> reference_rotary_embedding(CView<float, 4> x, const ops::RotaryOptions& options);
// ids host int32 [N], table a host matrix of any stored dtype [V, D].
Tensor<float, 2> reference_embedding(CView<std::int32_t, 1> ids, const WeightView<2>& table);

// q, k, v [B, S, H, Dh] (any strides); options.key_mask, if given, is host memory.
Tensor<float, 4> reference_attention(CView<float, 4> q, CView<float, 4> k, CView<float, 4> v,
                                     const ops::AttentionOptions& options);

// The heads' ops, on host maps [N, C, H, W] of any strides; weights are host f32 tensors (round them to the
// dtype under test first), biases may be empty.
Tensor<float, 4> reference_batch_norm(CView<float, 4> x, const ops::BatchNormParams& p);
Tensor<float, 2> reference_batch_norm(CView<float, 2> x, const ops::BatchNormParams& p);
Tensor<float, 4> reference_conv2d(CView<float, 4> x, CView<float, 4> w, CView<float, 1> bias, Extents<2> stride,
                                  Extents<2> padding);
Tensor<float, 4> reference_conv_transpose2d(CView<float, 4> x, CView<float, 4> w, CView<float, 1> bias);
Tensor<float, 4> reference_max_pool2d(CView<float, 4> x);
Tensor<float, 4> reference_adaptive_avg_pool2d(CView<float, 4> x, Extents<2> size);
Tensor<float, 4> reference_resize(CView<float, 4> x, Extents<2> size, ops::ResizeMode mode);
Tensor<float, 4> reference_layer_norm_channels(CView<float, 4> x, CView<float, 1> w, CView<float, 1> b, float eps);
Tensor<float, 2> reference_relu(CView<float, 2> x);

}  // namespace internvl::testing
