// backend::reference, spread over the default thread pool where it is slow: rows of a linear layer or a norm,
// (batch, head) pairs of an attention, output channels of a convolution or a resize, input rows of a
// transposed convolution are independent, so each slice runs the reference on its own.
#include "oracle.hpp"

#include <algorithm>

#include "internvl/backend/reference/all.hpp"
#include "internvl/core/thread_pool.hpp"
#include "internvl/ops/scaled_residual_add_norm.hpp"

namespace internvl::testing {

namespace {

// Splits [0, rows) into at most 8 slices (the reference linear widens the whole weight per call).
template <class Fn>
void for_row_slices(index_t rows, index_t max_slices, Fn&& fn) {
  ThreadPool& pool = default_thread_pool();
  const index_t slices = std::max<index_t>(1, std::min<index_t>({rows, max_slices, pool.size()}));
  pool.run(slices, [&](index_t s) { fn(rows * s / slices, rows * (s + 1) / slices); });
}

}  // namespace

Tensor<float, 2> reference_linear(CView<float, 2> x, CView<float, 2> w, CView<float, 1> bias, ops::Activation act) {
  Tensor<float, 2> y(Extents<2>{x.size(0), w.size(0)});
  for_row_slices(x.size(0), 8, [&](index_t begin, index_t end) {
    Context<backend::reference> ctx;
    ops::linear(ctx, y.view().slice(0, begin, end), x.slice(0, begin, end), w, bias, act);
  });
  return y;
}

Tensor<float, 2> reference_rms_norm(CView<float, 2> x, CView<float, 1> w, float eps) {
  Tensor<float, 2> y(x.shape());
  for_row_slices(x.size(0), 64, [&](index_t begin, index_t end) {
    Context<backend::reference> ctx;
    ops::rms_norm(ctx, y.view().slice(0, begin, end), x.slice(0, begin, end), w, eps);
  });
  return y;
}

Tensor<float, 2> reference_layer_norm(CView<float, 2> x, CView<float, 1> w, CView<float, 1> b, float eps) {
  Tensor<float, 2> y(x.shape());
  for_row_slices(x.size(0), 64, [&](index_t begin, index_t end) {
    Context<backend::reference> ctx;
    ops::layer_norm(ctx, y.view().slice(0, begin, end), x.slice(0, begin, end), w, b, eps);
  });
  return y;
}

ResidualNorm reference_scaled_residual_add_norm(CView<float, 2> x, CView<float, 2> y, CView<float, 1> gamma,
                                                config::Norm norm, CView<float, 1> w, CView<float, 1> b, float eps) {
  ResidualNorm out{Tensor<float, 2>(x.shape()), Tensor<float, 2>(x.shape())};
  std::copy_n(x.data(), x.numel(), out.x.data());
  for_row_slices(x.size(0), 64, [&](index_t begin, index_t end) {
    Context<backend::reference> ctx;
    ops::scaled_residual_add_norm(ctx, out.x.view().slice(0, begin, end), out.h.view().slice(0, begin, end),
                                  y.slice(0, begin, end), gamma, norm, w, b, eps);
  });
  return out;
}

Tensor<float, 2> reference_scaled_residual_add(CView<float, 2> x, CView<float, 2> y, CView<float, 1> gamma) {
  Tensor<float, 2> out(x.shape());
  std::copy_n(x.data(), x.numel(), out.data());
  Context<backend::reference> ctx;
  ops::scaled_residual_add(ctx, out.view(), y, gamma);
  return out;
}

Tensor<float, 2> reference_add(CView<float, 2> a, CView<float, 2> b) {
  Tensor<float, 2> y(a.shape());
  Context<backend::reference> ctx;
  ops::add(ctx, y.view(), a, b);
  return y;
}

Tensor<float, 2> reference_gelu(CView<float, 2> x) {
  Tensor<float, 2> y(x.shape());
  Context<backend::reference> ctx;
  ops::gelu(ctx, y.view(), x);
  return y;
}

Tensor<float, 2> reference_softmax(CView<float, 2> x) {
  Tensor<float, 2> y(x.shape());
  for_row_slices(x.size(0), 64, [&](index_t begin, index_t end) {
    Context<backend::reference> ctx;
    ops::softmax(ctx, y.view().slice(0, begin, end), x.slice(0, begin, end));
  });
  return y;
}

Tensor<float, 2> reference_mean_tokens(CView<float, 3> x, index_t begin, index_t end) {
  Tensor<float, 2> out(Extents<2>{x.size(0), x.size(2)});
  Context<backend::reference> ctx;
  ops::mean_tokens(ctx, out.view(), x, begin, end);
  return out;
}

Tensor<float, 3> reference_patchify(CView<float, 4> pixels, index_t patch) {
  Tensor<float, 3> out(
      Extents<3>{pixels.size(0), (pixels.size(2) / patch) * (pixels.size(3) / patch), pixels.size(1) * patch * patch});
  Context<backend::reference> ctx;
  ops::patchify(ctx, out.view(), pixels, patch);
  return out;
}

Tensor<float, 3> reference_assemble_tokens(CView<float, 3> patch_tokens, CView<float, 1> cls, CView<float, 2> pos) {
  Tensor<float, 3> x(Extents<3>{patch_tokens.size(0), patch_tokens.size(1) + 1, patch_tokens.size(2)});
  Context<backend::reference> ctx;
  ops::assemble_tokens(ctx, x.view(), patch_tokens, cls, pos);
  return x;
}

Tensor<float, 3> reference_pixel_shuffle(CView<float, 3> in, ops::PixelShuffleVersion version) {
  Tensor<float, 3> out(Extents<3>{in.size(0), in.size(1) / 4, 4 * in.size(2)});
  Context<backend::reference> ctx;
  ops::pixel_shuffle(ctx, out.view(), in, version);
  return out;
}

Tensor<float, 2> reference_swiglu(CView<float, 2> gate, CView<float, 2> up) {
  Tensor<float, 2> out(gate.shape());
  for_row_slices(gate.size(0), 64, [&](index_t begin, index_t end) {
    Context<backend::reference> ctx;
    ops::swiglu(ctx, out.view().slice(0, begin, end), gate.slice(0, begin, end), up.slice(0, begin, end));
  });
  return out;
}

Tensor<float, 4> reference_rotary_embedding(CView<float, 4> x, const ops::RotaryOptions& options) {
  Tensor<float, 4> y(x.shape());
  Context<backend::reference> ctx;
  ops::rotary_embedding(ctx, y.view(), x, options);
  return y;
}

Tensor<float, 2> reference_embedding(CView<std::int32_t, 1> ids, const WeightView<2>& table) {
  Tensor<float, 2> out(Extents<2>{ids.size(0), table.size(1)});
  Context<backend::reference> ctx;
  ops::embedding(ctx, out.view(), ids, table);
  return out;
}

Tensor<float, 4> reference_attention(CView<float, 4> q, CView<float, 4> k, CView<float, 4> v,
                                     const ops::AttentionOptions& options) {
  Tensor<float, 4> out(q.shape());
  const index_t batch = q.size(0), heads = q.size(2);
  default_thread_pool().run(batch * heads, [&](index_t i) {
    const index_t b = i / heads, h = i % heads;
    const auto one = [&](auto view) { return view.slice(0, b, b + 1).slice(2, h, h + 1); };
    ops::AttentionOptions slice_options = options;
    if (options.key_mask.data() != nullptr) {
      slice_options.key_mask = options.key_mask.slice(0, b, b + 1);
    }
    Context<backend::reference> ctx;
    ops::attention(ctx, one(out.view()), one(q), one(k), one(v), slice_options);
  });
  return out;
}

Tensor<float, 4> reference_batch_norm(CView<float, 4> x, const ops::BatchNormParams& p) {
  Tensor<float, 4> y(x.shape());
  Context<backend::reference> ctx;
  ops::batch_norm(ctx, y.view(), x, p.running_mean, p.running_var, p.weight, p.bias, p.eps);
  return y;
}

Tensor<float, 2> reference_batch_norm(CView<float, 2> x, const ops::BatchNormParams& p) {
  Tensor<float, 2> y(x.shape());
  Context<backend::reference> ctx;
  ops::batch_norm(ctx, y.view(), x, p.running_mean, p.running_var, p.weight, p.bias, p.eps);
  return y;
}

Tensor<float, 4> reference_conv2d(CView<float, 4> x, CView<float, 4> w, CView<float, 1> bias, Extents<2> stride,
                                  Extents<2> padding) {
  const auto out_size = [&](int axis) {
    return ops::conv_output_size(x.size(2 + axis), w.size(2 + axis), stride[axis], padding[axis]);
  };
  Tensor<float, 4> y(Extents<4>{x.size(0), w.size(0), out_size(0), out_size(1)});
  for_row_slices(w.size(0), 64, [&](index_t begin, index_t end) {
    Context<backend::reference> ctx;
    ops::conv2d(ctx, y.view().slice(1, begin, end), x, WeightView<4>(w.slice(0, begin, end)),
                bias.data() != nullptr ? bias.slice(0, begin, end) : CView<float, 1>{}, stride, padding);
  });
  return y;
}

Tensor<float, 4> reference_conv_transpose2d(CView<float, 4> x, CView<float, 4> w, CView<float, 1> bias) {
  Tensor<float, 4> y(Extents<4>{x.size(0), w.size(1), 2 * x.size(2), 2 * x.size(3)});
  for_row_slices(x.size(2), 64, [&](index_t begin, index_t end) {
    Context<backend::reference> ctx;
    ops::conv_transpose2d(ctx, y.view().slice(2, 2 * begin, 2 * end), x.slice(2, begin, end), WeightView<4>(w), bias);
  });
  return y;
}

Tensor<float, 4> reference_max_pool2d(CView<float, 4> x) {
  Tensor<float, 4> y(Extents<4>{x.size(0), x.size(1), x.size(2) / 2, x.size(3) / 2});
  Context<backend::reference> ctx;
  ops::max_pool2d(ctx, y.view(), x);
  return y;
}

Tensor<float, 4> reference_adaptive_avg_pool2d(CView<float, 4> x, Extents<2> size) {
  Tensor<float, 4> y(Extents<4>{x.size(0), x.size(1), size[0], size[1]});
  Context<backend::reference> ctx;
  ops::adaptive_avg_pool2d(ctx, y.view(), x);
  return y;
}

Tensor<float, 4> reference_resize(CView<float, 4> x, Extents<2> size, ops::ResizeMode mode) {
  Tensor<float, 4> y(Extents<4>{x.size(0), x.size(1), size[0], size[1]});
  for_row_slices(x.size(1), 64, [&](index_t begin, index_t end) {
    Context<backend::reference> ctx;
    ops::resize(ctx, y.view().slice(1, begin, end), x.slice(1, begin, end), mode);
  });
  return y;
}

Tensor<float, 4> reference_layer_norm_channels(CView<float, 4> x, CView<float, 1> w, CView<float, 1> b, float eps) {
  Tensor<float, 4> y(x.shape());
  Context<backend::reference> ctx;
  ops::layer_norm_channels(ctx, y.view(), x, w, b, eps);
  return y;
}

Tensor<float, 2> reference_relu(CView<float, 2> x) {
  Tensor<float, 2> y(x.shape());
  Context<backend::reference> ctx;
  ops::relu(ctx, y.view(), x);
  return y;
}

}  // namespace internvl::testing
