// The segmentation and classification heads' ops on CUDA against backend::reference: batch_norm, relu,
// conv2d, conv_transpose2d, max_pool2d, adaptive_avg_pool2d, resize and layer_norm_channels, at the real
// head shapes (InternViT-300M / 6B widths 1024 and 3200, UperNet's 1536 channels and its 1×1 and 3×3 convs
// on 16×16 .. 64×64 maps), the demo heads' shapes (width 128, 48 channels) and awkward ones, with maps laid
// out as the heads lay them out: dense, channels-last (a block's tokens seen as a grid, heads/token_grid.hpp),
// a channel slice of a wider buffer (UperNet's concatenations) and one element off 16-byte alignment.
// Inputs are fresh, rounded to the element type first; every other element of their buffers is NaN (a
// read outside the map shows), and outputs start as NaN (an unwritten element shows) with the rest of their
// buffer checked untouched. Convolutions with many output channels are checked on a sample of channels
// (the whole output must still be finite). Relative L2 tolerances: f32 1e-5 (1e-4 for the convolutions'
// sums of up to 55296 products), bf16 1e-2, f16 5e-3 (the output's rounding dominates). Bad input is an
// internvl::Error before anything is launched.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "cuda_testing.hpp"
#include "oracle.hpp"

using namespace internvl;
namespace gpu = internvl::cuda;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

enum class Layout { dense, channels_last, channel_slice, misaligned };

const char* name_of(Layout layout) {
  switch (layout) {
    case Layout::dense:
      return "dense";
    case Layout::channels_last:
      return "channels-last";
    case Layout::channel_slice:
      return "channel slice";
    case Layout::misaligned:
      return "misaligned";
  }
  return "?";
}

// Where an [N, C, H, W] map lies in its buffer.
struct Placement {
  Extents<4> strides;
  index_t offset, buffer;
};

Placement placement(const Extents<4>& shape, Layout layout) {
  const index_t n = shape[0], c = shape[1], h = shape[2], w = shape[3];
  switch (layout) {
    case Layout::channels_last:  // a block's tokens [N, 1 + H·W, C] seen as a grid, the class token first
      return {{(1 + h * w) * c, 1, w * c, c}, c, n * (1 + h * w) * c};
    case Layout::channel_slice:  // channels [2, 2 + C) of a map with C + 3 channels
      return {{(c + 3) * h * w, h * w, w, 1}, 2 * h * w, n * (c + 3) * h * w};
    case Layout::misaligned:
      return {row_major_strides(shape), 1, n * c * h * w + 1};
    case Layout::dense:
      break;
  }
  return {row_major_strides(shape), 0, n * c * h * w};
}

template <class Fn>
void for_each_index(const Extents<4>& shape, Fn&& fn) {
  for (index_t n = 0; n < shape[0]; ++n) {
    for (index_t c = 0; c < shape[1]; ++c) {
      for (index_t i = 0; i < shape[2]; ++i) {
        for (index_t j = 0; j < shape[3]; ++j) {
          fn(n, c, i, j);
        }
      }
    }
  }
}

// A map in device memory: a buffer whose elements outside the map are NaN, and the map's view.
template <class T>
struct DeviceMap {
  gpu::DeviceTensor<T, 1> buffer;
  Extents<4> shape;
  Placement at;

  View<T, 4> view() { return {buffer.data() + at.offset, shape, at.strides}; }
};

template <class T>
DeviceMap<T> device_map(Context<backend::cuda>& ctx, const Tensor<float, 4>& values, Layout layout) {
  const Placement at = placement(values.shape(), layout);
  Tensor<float, 1> host(Extents<1>{at.buffer}, kNaN);
  const View<float, 4> map(host.data() + at.offset, values.shape(), at.strides);
  for_each_index(values.shape(),
                 [&](index_t n, index_t c, index_t i, index_t j) { map(n, c, i, j) = values(n, c, i, j); });
  return {testing::to_device<T>(ctx, host), values.shape(), at};
}

template <class T>
DeviceMap<T> poisoned_map(Context<backend::cuda>& ctx, const Extents<4>& shape, Layout layout) {
  const Placement at = placement(shape, layout);
  return {testing::poisoned<T>(ctx, Extents<1>{at.buffer}), shape, at};
}

// The map's values; fails the test if an element of the buffer outside the map is no longer NaN.
template <class T>
Tensor<float, 4> values_of(Context<backend::cuda>& ctx, const DeviceMap<T>& m) {
  const Tensor<float, 1> buffer = testing::to_host(ctx, m.buffer);
  std::vector<bool> inside(static_cast<std::size_t>(m.at.buffer), false);
  Tensor<float, 4> values(m.shape);
  for_each_index(m.shape, [&](index_t n, index_t c, index_t i, index_t j) {
    const index_t at =
        m.at.offset + n * m.at.strides[0] + c * m.at.strides[1] + i * m.at.strides[2] + j * m.at.strides[3];
    inside[static_cast<std::size_t>(at)] = true;
    values(n, c, i, j) = buffer(at);
  });
  for (index_t e = 0; e < m.at.buffer; ++e) {
    if (!inside[static_cast<std::size_t>(e)] && !std::isnan(buffer(e))) {
      FAIL("element " << e << " of the output buffer, outside the map, was written");
    }
  }
  return values;
}

template <class T, std::size_t Rank>
Tensor<float, Rank> random_in(const Extents<Rank>& shape, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  return testing::rounded_to<T>(testing::random_tensor(shape, seed, lo, hi));
}

bool all_finite(const Tensor<float, 4>& t) {
  for (index_t e = 0; e < t.numel(); ++e) {
    if (!std::isfinite(t.data()[e])) {
      return false;
    }
  }
  return true;
}

// The channels checked against the oracle: all of few, else the first two, the last two and two between.
std::vector<index_t> sample_channels(index_t count) {
  if (count <= 16) {
    std::vector<index_t> all(static_cast<std::size_t>(count));
    for (index_t c = 0; c < count; ++c) {
      all[static_cast<std::size_t>(c)] = c;
    }
    return all;
  }
  return {0, 1, count / 3, count / 2, count - 2, count - 1};
}

// t with dimension `dim` reduced to the given indices.
Tensor<float, 4> pick(const Tensor<float, 4>& t, int dim, const std::vector<index_t>& indices) {
  Extents<4> shape = t.shape();
  shape[static_cast<std::size_t>(dim)] = static_cast<index_t>(indices.size());
  Tensor<float, 4> out(shape);
  for_each_index(shape, [&](index_t n, index_t c, index_t i, index_t j) {
    index_t at[4] = {n, c, i, j};
    at[dim] = indices[static_cast<std::size_t>(at[dim])];
    out(n, c, i, j) = t(at[0], at[1], at[2], at[3]);
  });
  return out;
}

Tensor<float, 1> pick(const Tensor<float, 1>& v, const std::vector<index_t>& indices) {
  Tensor<float, 1> out(Extents<1>{static_cast<index_t>(indices.size())});
  for (std::size_t k = 0; k < indices.size(); ++k) {
    out(static_cast<index_t>(k)) = v(indices[k]);
  }
  return out;
}

// A BatchNorm's parameters on the host and on the device.
struct BatchNormSet {
  Tensor<float, 1> mean, var, weight, bias;
  gpu::DeviceTensor<float, 1> d_mean, d_var, d_weight, d_bias;

  BatchNormSet(Context<backend::cuda>& ctx, index_t channels, std::uint64_t seed)
      : mean(testing::random_tensor(Extents<1>{channels}, seed, -1.0f, 1.0f)),
        var(testing::random_tensor(Extents<1>{channels}, seed + 1, 0.25f, 2.0f)),
        weight(testing::random_tensor(Extents<1>{channels}, seed + 2, 0.5f, 1.5f)),
        bias(testing::random_tensor(Extents<1>{channels}, seed + 3, -0.5f, 0.5f)),
        d_mean(gpu::upload(ctx, mean.view())),
        d_var(gpu::upload(ctx, var.view())),
        d_weight(gpu::upload(ctx, weight.view())),
        d_bias(gpu::upload(ctx, bias.view())) {}

  ops::BatchNormParams host() const { return {mean.view(), var.view(), weight.view(), bias.view(), 1e-5f}; }
  ops::BatchNormParams device() const { return {d_mean.view(), d_var.view(), d_weight.view(), d_bias.view(), 1e-5f}; }
};

struct ConvCase {
  Extents<4> x;  // [N, C, H, W]
  index_t out_channels;
  Extents<2> kernel, stride, padding;
  bool bias;
  Layout x_layout, y_layout;
};

template <class T>
void check_conv2d(Context<backend::cuda>& ctx, const ConvCase& c, std::uint64_t seed) {
  const index_t depth = c.x[1] * c.kernel[0] * c.kernel[1];
  const float range = 1.0f / std::sqrt(static_cast<float>(std::max<index_t>(depth, 1)));
  const auto x = random_in<T>(c.x, seed);
  const auto w = random_in<T>(Extents<4>{c.out_channels, c.x[1], c.kernel[0], c.kernel[1]}, seed + 1, -range, range);
  const auto b = testing::random_tensor(Extents<1>{c.out_channels}, seed + 2);
  const Extents<4> y_shape{c.x[0], c.out_channels,
                           ops::conv_output_size(c.x[2], c.kernel[0], c.stride[0], c.padding[0]),
                           ops::conv_output_size(c.x[3], c.kernel[1], c.stride[1], c.padding[1])};
  auto dx = device_map<T>(ctx, x, c.x_layout);
  const auto dw = testing::to_device<T>(ctx, w);
  const auto db = gpu::upload(ctx, b.view());
  auto dy = poisoned_map<T>(ctx, y_shape, c.y_layout);
  ops::conv2d(ctx, dy.view(), CView<T, 4>(dx.view()), WeightView<4>(dw.view()),
              c.bias ? CView<float, 1>(db.view()) : CView<float, 1>{}, c.stride, c.padding);
  const Tensor<float, 4> got = values_of(ctx, dy);

  const std::vector<index_t> channels = sample_channels(c.out_channels);
  const Tensor<float, 1> picked_bias = pick(b, channels);
  const auto want = testing::reference_conv2d(x.view(), pick(w, 0, channels).view(),
                                              c.bias ? picked_bias.view() : CView<float, 1>{}, c.stride, c.padding);
  INFO(testing::type_name<T>() << " x " << shape_string(c.x) << " (" << name_of(c.x_layout) << ") -> " << c.out_channels
                               << " channels, kernel " << shape_string(c.kernel) << " stride " << shape_string(c.stride)
                               << " padding " << shape_string(c.padding) << " bias " << c.bias << ", y "
                               << name_of(c.y_layout));
  REQUIRE(all_finite(got));
  REQUIRE(testing::relative_l2(pick(got, 1, channels).view(), want.view()) < testing::tolerance<T>(1e-4));
}

struct ConvTransposeCase {
  Extents<4> x;
  index_t out_channels;
  bool bias;
  Layout x_layout, y_layout;
};

template <class T>
void check_conv_transpose2d(Context<backend::cuda>& ctx, const ConvTransposeCase& c, std::uint64_t seed) {
  const float range = 1.0f / std::sqrt(static_cast<float>(c.x[1]));
  const auto x = random_in<T>(c.x, seed);
  const auto w = random_in<T>(Extents<4>{c.x[1], c.out_channels, 2, 2}, seed + 1, -range, range);
  const auto b = testing::random_tensor(Extents<1>{c.out_channels}, seed + 2);
  auto dx = device_map<T>(ctx, x, c.x_layout);
  const auto dw = testing::to_device<T>(ctx, w);
  const auto db = gpu::upload(ctx, b.view());
  auto dy = poisoned_map<T>(ctx, Extents<4>{c.x[0], c.out_channels, 2 * c.x[2], 2 * c.x[3]}, c.y_layout);
  ops::conv_transpose2d(ctx, dy.view(), CView<T, 4>(dx.view()), WeightView<4>(dw.view()),
                        c.bias ? CView<float, 1>(db.view()) : CView<float, 1>{});
  const Tensor<float, 4> got = values_of(ctx, dy);

  const std::vector<index_t> channels = sample_channels(c.out_channels);
  const Tensor<float, 1> picked_bias = pick(b, channels);
  const auto want = testing::reference_conv_transpose2d(x.view(), pick(w, 1, channels).view(),
                                                        c.bias ? picked_bias.view() : CView<float, 1>{});
  INFO(testing::type_name<T>() << " x " << shape_string(c.x) << " (" << name_of(c.x_layout) << ") -> " << c.out_channels
                               << " channels, bias " << c.bias << ", y " << name_of(c.y_layout));
  REQUIRE(all_finite(got));
  REQUIRE(testing::relative_l2(pick(got, 1, channels).view(), want.view()) < testing::tolerance<T>());
}

}  // namespace

TEMPLATE_TEST_CASE("cuda batch_norm matches the reference on maps and feature rows", "[cuda][batch_norm]", float, bf16,
                   f16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 1100;
  for (const auto& [shape, x_layout, y_layout] :
       {std::tuple{Extents<4>{1, 1536, 64, 64}, Layout::dense, Layout::channel_slice},
        std::tuple{Extents<4>{1, 1024, 32, 32}, Layout::channel_slice, Layout::dense},
        std::tuple{Extents<4>{2, 48, 16, 16}, Layout::misaligned, Layout::dense},
        std::tuple{Extents<4>{3, 5, 7, 9}, Layout::dense, Layout::misaligned},
        std::tuple{Extents<4>{1, 1, 1, 1}, Layout::dense, Layout::dense}}) {
    const auto x = random_in<TestType>(shape, ++seed, -3.0f, 3.0f);
    const BatchNormSet p(ctx, shape[1], seed += 4);
    auto dx = device_map<TestType>(ctx, x, x_layout);
    auto dy = poisoned_map<TestType>(ctx, shape, y_layout);
    const ops::BatchNormParams d = p.device();
    ops::batch_norm(ctx, dy.view(), CView<TestType, 4>(dx.view()), d.running_mean, d.running_var, d.weight, d.bias,
                    d.eps);
    INFO(testing::type_name<TestType>() << " " << shape_string(shape) << " x " << name_of(x_layout) << " y "
                                        << name_of(y_layout));
    const auto want = testing::reference_batch_norm(x.view(), p.host());
    REQUIRE(testing::relative_l2(values_of(ctx, dy).view(), want.view()) < testing::tolerance<TestType>());
    ops::batch_norm(ctx, dx.view(), CView<TestType, 4>(dx.view()), d.running_mean, d.running_var, d.weight, d.bias,
                    d.eps);  // in place
    REQUIRE(testing::relative_l2(values_of(ctx, dx).view(), want.view()) < testing::tolerance<TestType>());
  }
  // Feature rows: the linear probe's [B, 2D] (class token rows read at the token stride) and awkward widths.
  for (const auto& [rows, width, pitch] :
       {std::tuple<index_t, index_t, index_t>{2, 2048, 2048}, {4, 1024, 17 * 1024}, {3, 17, 17}, {1, 3, 5}}) {
    const auto buffer = random_in<TestType>(Extents<2>{rows, pitch}, ++seed, -3.0f, 3.0f);
    const CView<float, 2> x = buffer.view().slice(1, 0, width);
    const BatchNormSet p(ctx, width, seed += 4);
    const auto dbuffer = testing::to_device<TestType>(ctx, buffer);
    auto dy = testing::poisoned<TestType>(ctx, Extents<2>{rows, width});
    const ops::BatchNormParams d = p.device();
    ops::batch_norm(ctx, dy.view(), dbuffer.view().slice(1, 0, width), d.running_mean, d.running_var, d.weight, d.bias,
                    d.eps);
    INFO(testing::type_name<TestType>() << " rows " << rows << " width " << width << " pitch " << pitch);
    REQUIRE(testing::relative_l2(testing::to_host(ctx, dy).view(), testing::reference_batch_norm(x, p.host()).view()) <
            testing::tolerance<TestType>());
  }
}

TEMPLATE_TEST_CASE("cuda relu matches the reference, keeps NaN and works in place", "[cuda][relu]", float, bf16, f16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 1200;
  for (const auto& [rows, width] : {std::tuple<index_t, index_t>{1536 * 64, 64}, {48 * 16, 16}, {3, 17}, {1, 2}}) {
    auto x = random_in<TestType>(Extents<2>{rows, width}, ++seed, -2.0f, 2.0f);
    x(0, 0) = kNaN;                  // stays NaN
    x(rows - 1, width - 1) = -0.0f;  // is not < 0: stays -0
    auto dx = testing::to_device<TestType>(ctx, x);
    auto dy = testing::poisoned<TestType>(ctx, x.shape());
    ops::relu(ctx, dy.view(), CView<TestType, 2>(dx.view()));
    ops::relu(ctx, dx.view(), CView<TestType, 2>(dx.view()));  // in place
    Tensor<float, 2> want = testing::reference_relu(x.view());
    want(0, 0) = 0.0f;
    INFO(testing::type_name<TestType>() << " rows " << rows << " width " << width);
    for (const auto* out : {&dy, &dx}) {
      Tensor<float, 2> got = testing::to_host(ctx, *out);
      REQUIRE(std::isnan(got(0, 0)));
      REQUIRE((got(rows - 1, width - 1) == 0.0f && std::signbit(got(rows - 1, width - 1))));
      got(0, 0) = 0.0f;
      REQUIRE(testing::relative_l2(got.view(), want.view()) == 0.0);  // exact in every element type
    }
  }
  SECTION("a channel slice of a concatenation buffer, image by image (heads/conv_module.hpp)") {
    const auto x = random_in<TestType>(Extents<4>{2, 48, 16, 16}, 1299, -2.0f, 2.0f);
    auto dx = device_map<TestType>(ctx, x, Layout::channel_slice);
    for (index_t b = 0; b < 2; ++b) {
      ops::relu(ctx, dx.view()[b], CView<TestType, 3>(dx.view()[b]));
    }
    const auto want = testing::reference_relu(x.view().reshape(Extents<2>{2 * 48 * 16, 16}));
    REQUIRE(testing::relative_l2(values_of(ctx, dx).view().reshape(Extents<2>{2 * 48 * 16, 16}), want.view()) == 0.0);
  }
}

// The real shapes in f32 and bf16 (their weights reach 99M elements), the rest in every element type.
TEMPLATE_TEST_CASE("cuda conv2d matches the reference at the heads' shapes", "[cuda][conv2d]", float, bf16) {
  Context<backend::cuda> ctx;
  const Extents<2> one{1, 1}, three{3, 3}, none{0, 0};
  using L = Layout;
  // UperNet at width 1024 with 1536 channels: laterals (from the token grid: no copy), the bottleneck over
  // [f4, P_1, P_2, P_3, P_6], an FPN conv into its concatenation slot (several pixel blocks), the FPN
  // bottleneck, the classifier (bias: the scatter path); the linear head on InternViT-6B's tokens.
  const ConvCase cases[] = {
      {{1, 1024, 16, 16}, 1536, one, one, none, false, L::channels_last, L::channel_slice},
      {{1, 1024, 32, 32}, 1536, one, one, none, false, L::dense, L::dense},
      {{1, 1024 + 4 * 1536, 16, 16}, 1536, three, one, one, false, L::dense, L::dense},
      {{1, 1536, 64, 64}, 1536, three, one, one, false, L::dense, L::channel_slice},
      {{1, 4 * 1536, 32, 32}, 1536, three, one, one, false, L::dense, L::dense},
      {{1, 1536, 64, 64}, 150, one, one, none, true, L::dense, L::dense},
      {{1, 3200, 16, 16}, 150, one, one, none, true, L::channels_last, L::dense},
  };
  std::uint64_t seed = 1300;
  for (const ConvCase& c : cases) {
    check_conv2d<TestType>(ctx, c, seed += 3);
  }
}

TEMPLATE_TEST_CASE("cuda conv2d matches the reference at the demo's shapes and awkward ones", "[cuda][conv2d]", float,
                   bf16, f16) {
  Context<backend::cuda> ctx;
  const Extents<2> one{1, 1}, three{3, 3}, none{0, 0};
  using L = Layout;
  const ConvCase cases[] = {
      // The demo's UperNet (width 128, 48 channels, 5 classes).
      {{1, 128, 16, 16}, 48, one, one, none, false, L::channels_last, L::dense},
      {{1, 4 * 48, 64, 64}, 48, three, one, one, false, L::dense, L::channel_slice},
      {{1, 48, 64, 64}, 5, one, one, none, true, L::dense, L::dense},
      // Several images, strides, paddings and kernels, every layout on either side.
      {{2, 3, 17, 13}, 5, three, one, one, false, L::dense, L::channels_last},
      {{3, 7, 9, 11}, 4, {2, 3}, {2, 1}, {1, 2}, true, L::misaligned, L::misaligned},
      {{1, 5, 1, 1}, 3, one, one, none, false, L::channel_slice, L::dense},
      {{2, 3, 28, 28}, 8, {14, 14}, {14, 14}, none, true, L::dense, L::dense},
      {{2, 4, 5, 5}, 2, {5, 5}, one, {2, 2}, false, L::channels_last, L::dense},
      {{2, 6, 9, 7}, 5, one, one, none, false, L::channels_last, L::misaligned},
  };
  std::uint64_t seed = 1350;
  for (const ConvCase& c : cases) {
    check_conv2d<TestType>(ctx, c, seed += 3);
  }
}

TEMPLATE_TEST_CASE("cuda conv_transpose2d matches the reference at the heads' shapes", "[cuda][conv_transpose2d]",
                   float, bf16) {
  Context<backend::cuda> ctx;
  using L = Layout;
  // The pyramid's 2× upsamplings at width 1024 (from the token grid, then from a dense map; at 64×64 the f32
  // scratch needs two blocks of rows) and at InternViT-6B's width 3200.
  const ConvTransposeCase cases[] = {
      {{1, 1024, 16, 16}, 1024, true, L::channels_last, L::dense},
      {{1, 1024, 32, 32}, 1024, true, L::dense, L::dense},
      {{1, 1024, 64, 64}, 1024, true, L::dense, L::dense},
      {{1, 3200, 8, 8}, 3200, true, L::channels_last, L::dense},
  };
  std::uint64_t seed = 1400;
  for (const ConvTransposeCase& c : cases) {
    check_conv_transpose2d<TestType>(ctx, c, seed += 3);
  }
}

TEMPLATE_TEST_CASE("cuda conv_transpose2d matches the reference at the demo's shapes and awkward ones",
                   "[cuda][conv_transpose2d]", float, bf16, f16) {
  Context<backend::cuda> ctx;
  using L = Layout;
  const ConvTransposeCase cases[] = {
      {{1, 128, 16, 16}, 128, true, L::channels_last, L::dense},
      {{2, 128, 32, 32}, 128, true, L::dense, L::channel_slice},
      {{2, 3, 5, 7}, 4, false, L::dense, L::channel_slice},
      {{1, 1, 1, 1}, 1, true, L::dense, L::misaligned},
      {{3, 5, 2, 9}, 2, true, L::misaligned, L::channels_last},
  };
  std::uint64_t seed = 1450;
  for (const ConvTransposeCase& c : cases) {
    check_conv_transpose2d<TestType>(ctx, c, seed += 3);
  }
}

TEMPLATE_TEST_CASE("cuda max_pool2d matches the reference and propagates NaN", "[cuda][max_pool2d]", float, bf16, f16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 1500;
  // UperNet's ½× level from the token grid into the PPM's concatenation; odd sizes drop the last row/column.
  for (const auto& [shape, x_layout, y_layout] :
       {std::tuple{Extents<4>{1, 1024, 32, 32}, Layout::channels_last, Layout::channel_slice},
        std::tuple{Extents<4>{2, 128, 16, 16}, Layout::channels_last, Layout::dense},
        std::tuple{Extents<4>{2, 3, 7, 9}, Layout::misaligned, Layout::channels_last},
        std::tuple{Extents<4>{1, 1, 2, 2}, Layout::dense, Layout::dense}}) {
    auto x = random_in<TestType>(shape, ++seed, -3.0f, 3.0f);
    x(0, 0, 1, 1) = kNaN;  // the first window's maximum is NaN
    auto dx = device_map<TestType>(ctx, x, x_layout);
    const Extents<4> y_shape{shape[0], shape[1], shape[2] / 2, shape[3] / 2};
    auto dy = poisoned_map<TestType>(ctx, y_shape, y_layout);
    ops::max_pool2d(ctx, dy.view(), CView<TestType, 4>(dx.view()));
    Tensor<float, 4> got = values_of(ctx, dy);
    Tensor<float, 4> want = testing::reference_max_pool2d(x.view());
    INFO(testing::type_name<TestType>() << " " << shape_string(shape));
    REQUIRE(std::isnan(got(0, 0, 0, 0)));
    got(0, 0, 0, 0) = want(0, 0, 0, 0) = 0.0f;
    REQUIRE(testing::relative_l2(got.view(), want.view()) == 0.0);  // a maximum is one of the inputs, exactly
  }
}

TEMPLATE_TEST_CASE("cuda adaptive_avg_pool2d matches the reference", "[cuda][adaptive_avg_pool2d]", float, bf16, f16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 1600;
  // The PPM's bins 1, 2, 3, 6 over f4 (a channel slice of the concatenation) at width 1024 and at the demo's
  // 8×8; more bins than pixels; uneven bins; one mean over a whole 64×64 map with a large offset.
  for (const auto& [shape, size, x_layout, offset] :
       {std::tuple{Extents<4>{1, 1024, 16, 16}, Extents<2>{1, 1}, Layout::channel_slice, 0.0f},
        std::tuple{Extents<4>{1, 1024, 16, 16}, Extents<2>{2, 2}, Layout::channel_slice, 0.0f},
        std::tuple{Extents<4>{1, 1024, 16, 16}, Extents<2>{3, 3}, Layout::channel_slice, 0.0f},
        std::tuple{Extents<4>{1, 1024, 16, 16}, Extents<2>{6, 6}, Layout::channel_slice, 0.0f},
        std::tuple{Extents<4>{2, 128, 8, 8}, Extents<2>{6, 6}, Layout::dense, 0.0f},
        std::tuple{Extents<4>{1, 5, 4, 4}, Extents<2>{6, 6}, Layout::misaligned, 0.0f},
        std::tuple{Extents<4>{1, 3, 7, 5}, Extents<2>{3, 2}, Layout::channels_last, 0.0f},
        std::tuple{Extents<4>{1, 2, 64, 64}, Extents<2>{1, 1}, Layout::dense, 50.0f}}) {
    const auto x = random_in<TestType>(shape, ++seed, offset - 2.0f, offset + 2.0f);
    auto dx = device_map<TestType>(ctx, x, x_layout);
    auto dy = poisoned_map<TestType>(ctx, Extents<4>{shape[0], shape[1], size[0], size[1]}, Layout::dense);
    ops::adaptive_avg_pool2d(ctx, dy.view(), CView<TestType, 4>(dx.view()));
    INFO(testing::type_name<TestType>() << " " << shape_string(shape) << " -> " << shape_string(size));
    REQUIRE(
        testing::relative_l2(values_of(ctx, dy).view(), testing::reference_adaptive_avg_pool2d(x.view(), size).view()) <
        testing::tolerance<TestType>());
  }
}

TEMPLATE_TEST_CASE("cuda resize matches the reference (bilinear and bicubic)", "[cuda][resize]", float, bf16, f16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 1700;
  using M = ops::ResizeMode;
  // UperNet's top-down and FPN resizes into a concatenation slot, the logits back to an image, a position
  // embedding grid (bicubic, from a channels-last table), down-sampling, the identity, awkward sizes.
  for (const auto& [shape, size, mode, x_layout, y_layout] :
       {std::tuple{Extents<4>{1, 1536, 16, 16}, Extents<2>{64, 64}, M::bilinear, Layout::dense, Layout::channel_slice},
        std::tuple{Extents<4>{1, 1536, 32, 32}, Extents<2>{64, 64}, M::bilinear, Layout::dense, Layout::dense},
        std::tuple{Extents<4>{1, 150, 64, 64}, Extents<2>{256, 342}, M::bilinear, Layout::dense, Layout::dense},
        std::tuple{Extents<4>{1, 48, 8, 8}, Extents<2>{16, 16}, M::bilinear, Layout::channel_slice, Layout::dense},
        std::tuple{Extents<4>{1, 1024, 16, 16}, Extents<2>{32, 32}, M::bicubic, Layout::channels_last, Layout::dense},
        std::tuple{Extents<4>{2, 3, 5, 7}, Extents<2>{11, 3}, M::bicubic, Layout::misaligned, Layout::channels_last},
        std::tuple{Extents<4>{1, 4, 64, 64}, Extents<2>{17, 23}, M::bilinear, Layout::dense, Layout::misaligned},
        std::tuple{Extents<4>{1, 4, 64, 64}, Extents<2>{17, 23}, M::bicubic, Layout::dense, Layout::dense},
        std::tuple{Extents<4>{1, 3, 8, 8}, Extents<2>{8, 8}, M::bilinear, Layout::dense, Layout::dense},
        std::tuple{Extents<4>{1, 3, 8, 8}, Extents<2>{8, 8}, M::bicubic, Layout::dense, Layout::dense},
        std::tuple{Extents<4>{1, 2, 1, 1}, Extents<2>{3, 4}, M::bicubic, Layout::dense, Layout::dense}}) {
    const auto x = random_in<TestType>(shape, ++seed, -3.0f, 3.0f);
    auto dx = device_map<TestType>(ctx, x, x_layout);
    auto dy = poisoned_map<TestType>(ctx, Extents<4>{shape[0], shape[1], size[0], size[1]}, y_layout);
    ops::resize(ctx, dy.view(), CView<TestType, 4>(dx.view()), mode);
    INFO(testing::type_name<TestType>() << " " << shape_string(shape) << " -> " << shape_string(size)
                                        << (mode == M::bilinear ? " bilinear" : " bicubic"));
    REQUIRE(testing::relative_l2(values_of(ctx, dy).view(), testing::reference_resize(x.view(), size, mode).view()) <
            testing::tolerance<TestType>());
  }
}

TEMPLATE_TEST_CASE("cuda layer_norm_channels matches the reference", "[cuda][layer_norm_channels]", float, bf16, f16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 1800;
  constexpr float kEps = 1e-6f;
  // The pyramid's norm after the first 2× upsampling at widths 1024, 3200 and 128; awkward sizes; a large
  // common offset; a channel slice and a misaligned map; in place.
  for (const auto& [shape, offset, x_layout, y_layout] :
       {std::tuple{Extents<4>{1, 1024, 32, 32}, 0.0f, Layout::dense, Layout::dense},
        std::tuple{Extents<4>{1, 3200, 16, 16}, 0.0f, Layout::dense, Layout::channel_slice},
        std::tuple{Extents<4>{2, 128, 32, 32}, 50.0f, Layout::channel_slice, Layout::dense},
        std::tuple{Extents<4>{3, 17, 5, 7}, 0.0f, Layout::misaligned, Layout::misaligned},
        std::tuple{Extents<4>{1, 1, 1, 1}, 0.0f, Layout::dense, Layout::dense}}) {
    const auto x = random_in<TestType>(shape, ++seed, offset - 2.0f, offset + 2.0f);
    const auto w = testing::random_tensor(Extents<1>{shape[1]}, ++seed, 0.5f, 1.5f);
    const auto b = testing::random_tensor(Extents<1>{shape[1]}, ++seed, -0.5f, 0.5f);
    const auto dw = gpu::upload(ctx, w.view());
    const auto db = gpu::upload(ctx, b.view());
    auto dx = device_map<TestType>(ctx, x, x_layout);
    auto dy = poisoned_map<TestType>(ctx, shape, y_layout);
    ops::layer_norm_channels(ctx, dy.view(), CView<TestType, 4>(dx.view()), dw.view(), db.view(), kEps);
    const auto want = testing::reference_layer_norm_channels(x.view(), w.view(), b.view(), kEps);
    INFO(testing::type_name<TestType>() << " " << shape_string(shape) << " offset " << offset);
    REQUIRE(testing::relative_l2(values_of(ctx, dy).view(), want.view()) < testing::tolerance<TestType>());
    ops::layer_norm_channels(ctx, dx.view(), CView<TestType, 4>(dx.view()), dw.view(), db.view(), kEps);
    REQUIRE(testing::relative_l2(values_of(ctx, dx).view(), want.view()) < testing::tolerance<TestType>());
  }
}

TEST_CASE("cuda head ops refuse bad input before launching anything", "[cuda][conv2d]") {
  Context<backend::cuda> ctx;
  const Tensor<float, 4> host_x(Extents<4>{1, 4, 8, 8}, 1.0f);
  const auto x = gpu::upload(ctx, host_x.view());
  const Tensor<float, 4> host_w(Extents<4>{2, 4, 3, 3}, 0.5f);
  const auto w = gpu::upload(ctx, host_w.view());
  auto y = testing::poisoned<float>(ctx, Extents<4>{1, 2, 8, 8});
  const Extents<2> one{1, 1};
  REQUIRE_THROWS_WITH(ops::conv2d(ctx, y.view(), host_x.view(), WeightView<4>(w.view()), {}, one, one),
                      Catch::Contains("ops::conv2d") && Catch::Contains("x must point to device memory"));
  REQUIRE_THROWS_WITH(ops::conv2d(ctx, y.view(), x.view(), WeightView<4>(host_w.view()), {}, one, one),
                      Catch::Contains("weight must point to device memory"));
  const Tensor<bf16, 4> host_w16 = testing::convert<bf16>(host_w);
  const auto w16 = gpu::upload(ctx, host_w16.view());
  REQUIRE_THROWS_WITH(ops::conv2d(ctx, y.view(), x.view(), WeightView<4>(w16.view()), {}, one, one),
                      Catch::Contains("ops::conv2d") && Catch::Contains("the weight must have the activations' dtype"));
  REQUIRE_THROWS_WITH(ops::conv_transpose2d(ctx, poisoned_map<float>(ctx, {1, 4, 16, 16}, Layout::dense).view(),
                                            x.view(), WeightView<4>(w16.view().reshape(Extents<4>{4, 2, 3, 3}))),
                      Catch::Contains("ops::conv_transpose2d") && Catch::Contains("kernel"));
  SECTION("a convolution too deep for the im2col grid") {
    const index_t channels = 65535 * 32 / 9 + 1;  // C·3·3 just over 65535 column tiles of 32
    const auto deep_x = testing::poisoned<bf16>(ctx, Extents<4>{1, channels, 1, 1});
    const auto deep_w = testing::poisoned<bf16>(ctx, Extents<4>{1, channels, 3, 3});
    auto out = testing::poisoned<bf16>(ctx, Extents<4>{1, 1, 1, 1});
    REQUIRE_THROWS_WITH(ops::conv2d(ctx, out.view(), deep_x.view(), WeightView<4>(deep_w.view()), {}, one, one),
                        Catch::Contains("ops::conv2d") && Catch::Contains("too large for one launch"));
  }
  SECTION("more images than a grid dimension holds") {
    const auto many = testing::poisoned<float>(ctx, Extents<4>{65536, 1, 1, 1});
    auto out = testing::poisoned<float>(ctx, Extents<4>{65536, 1, 1, 1});
    const Tensor<float, 1> ones(Extents<1>{1}, 1.0f);
    const auto d_ones = gpu::upload(ctx, ones.view());
    REQUIRE_THROWS_WITH(ops::layer_norm_channels(ctx, out.view(), many.view(), d_ones.view(), d_ones.view(), 1e-6f),
                        Catch::Contains("ops::layer_norm_channels") && Catch::Contains("too large for one launch"));
  }
  SECTION("host statistics, host outputs") {
    const Tensor<float, 1> stats(Extents<1>{4}, 1.0f);
    const auto d_stats = gpu::upload(ctx, stats.view());
    auto out = testing::poisoned<float>(ctx, Extents<4>{1, 4, 8, 8});
    REQUIRE_THROWS_WITH(
        ops::batch_norm(ctx, out.view(), x.view(), d_stats.view(), stats.view(), d_stats.view(), d_stats.view(), 1e-5f),
        Catch::Contains("ops::batch_norm") && Catch::Contains("running_var must point to device memory"));
    Tensor<float, 4> host_y(Extents<4>{1, 4, 16, 16});
    REQUIRE_THROWS_WITH(ops::resize(ctx, host_y.view(), x.view(), ops::ResizeMode::bilinear),
                        Catch::Contains("ops::resize") && Catch::Contains("y must point to device memory"));
    REQUIRE_THROWS_WITH(ops::max_pool2d(ctx, host_y.view().slice(2, 0, 4).slice(3, 0, 4), x.view()),
                        Catch::Contains("ops::max_pool2d") && Catch::Contains("y must point to device memory"));
  }
  ctx.synchronize();
}
