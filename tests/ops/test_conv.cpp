// conv2d and conv_transpose2d: the reference against PyTorch (F.conv2d, F.conv_transpose2d) with f32,
// bf16 and f16 weights; the cpu backend against the reference over the real shapes (patch embedding,
// 3×3 and 1×1 head convs, the 2× upsampling), awkward ones, strided outputs and GEMM blocks that cross
// image boundaries; shape and parameter errors.
#include <catch2/catch.hpp>
#include <string>
#include <tuple>

#include "grid.hpp"
#include "internvl/backend/cpu/conv2d.hpp"
#include "internvl/backend/cpu/conv_transpose2d.hpp"
#include "internvl/backend/reference/conv2d.hpp"
#include "internvl/backend/reference/conv_transpose2d.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

std::string fixture(const std::string& name) { return testing::golden_path("ops/conv/" + name + ".npy"); }

// Calls fn(weight view) with `w` stored in `dtype` (the fixtures hold values that dtype represents exactly).
template <class Fn>
void with_weight_as(DType dtype, const Tensor<float, 4>& w, Fn&& fn) {
  visit_dtype(dtype, [&]<class W>(W) {
    const Tensor<W, 4> stored = testing::convert<W>(w);
    fn(WeightView<4>(stored.view()));
  });
}

}  // namespace

TEST_CASE("reference conv2d matches PyTorch", "[conv2d]") {
  Context<backend::reference> ctx;
  for (const auto& [name, dtype, has_bias] :
       {std::tuple{"conv_3x3_pad1", DType::f32, true}, std::tuple{"conv_patch", DType::bf16, true},
        std::tuple{"conv_1x1", DType::f16, false}, std::tuple{"conv_odd", DType::bf16, true},
        std::tuple{"conv_pad_wide", DType::f32, true}}) {
    const std::string stem = name;
    const auto x = io::read_npy_f32<4>(fixture(stem + "_x"));
    const auto w = io::read_npy_f32<4>(fixture(stem + "_w"));
    const auto expected = io::read_npy_f32<4>(fixture(stem + "_y"));
    const auto params = io::read_npy_f32<1>(fixture(stem + "_params"));
    const Tensor<float, 1> b = has_bias ? io::read_npy_f32<1>(fixture(stem + "_b")) : Tensor<float, 1>();
    const CView<float, 1> bias = has_bias ? b.view() : CView<float, 1>{};
    const Extents<2> stride{static_cast<index_t>(params(0)), static_cast<index_t>(params(1))};
    const Extents<2> padding{static_cast<index_t>(params(2)), static_cast<index_t>(params(3))};
    Tensor<float, 4> y(expected.shape());
    testing::poison(y.view());
    with_weight_as(dtype, w, [&](const WeightView<4>& weight) {
      ops::conv2d(ctx, y.view(), x.view(), weight, bias, stride, padding);
    });
    INFO("case " << stem);
    REQUIRE(testing::relative_l2(y.view(), expected.view()) < 1e-6);
  }
}

TEST_CASE("reference conv_transpose2d matches PyTorch", "[conv_transpose2d]") {
  Context<backend::reference> ctx;
  for (const auto& [name, dtype, has_bias] :
       {std::tuple{"convt", DType::bf16, true}, std::tuple{"convt_nobias", DType::f32, false}}) {
    const std::string stem = name;
    const auto x = io::read_npy_f32<4>(fixture(stem + "_x"));
    const auto w = io::read_npy_f32<4>(fixture(stem + "_w"));
    const auto expected = io::read_npy_f32<4>(fixture(stem + "_y"));
    const Tensor<float, 1> b = has_bias ? io::read_npy_f32<1>(fixture(stem + "_b")) : Tensor<float, 1>();
    const CView<float, 1> bias = has_bias ? b.view() : CView<float, 1>{};
    Tensor<float, 4> y(expected.shape());
    testing::poison(y.view());
    with_weight_as(dtype, w, [&](const WeightView<4>& weight) {
      ops::conv_transpose2d(ctx, y.view(), x.view(), weight, bias);
    });
    INFO("case " << stem);
    REQUIRE(testing::relative_l2(y.view(), expected.view()) < 1e-6);
  }
}

TEST_CASE("cpu conv2d matches the reference", "[conv2d]") {
  struct Case {
    Extents<4> x, w;
    Extents<2> stride, padding;
    DType dtype;
  };
  const Case cases[] = {
      {{2, 5, 17, 13}, {7, 5, 3, 4}, {2, 1}, {0, 2}, DType::bf16},
      {{2, 6, 7, 9}, {3, 6, 1, 1}, {1, 1}, {0, 0}, DType::f16},
      {{1, 4, 11, 9}, {5, 4, 2, 2}, {3, 3}, {0, 0}, DType::f32},  // stride beyond the kernel
      {{1, 3, 4, 5}, {2, 3, 6, 7}, {1, 1}, {1, 1}, DType::f32},   // kernel = padded input: one output
      {{1, 2, 6, 5}, {3, 2, 1, 1}, {2, 2}, {1, 0}, DType::f32},   // 1x1 with stride and padding
      {{1, 1, 1, 1}, {1, 1, 1, 1}, {1, 1}, {0, 0}, DType::f32},
      {{1, 3, 224, 224}, {3200, 3, 14, 14}, {14, 14}, {0, 0}, DType::bf16},  // InternViT-6B patch embedding
      {{1, 256, 36, 36}, {128, 256, 3, 3}, {1, 1}, {1, 1}, DType::f16},      // an FPN conv, fewer channels
      {{1, 320, 18, 18}, {150, 320, 1, 1}, {1, 1}, {0, 0}, DType::f32},      // a 1x1 head conv
  };
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  for (const Case& c : testing::sized(cases, 6)) {
    const auto x = testing::random_tensor(c.x, 11);
    const auto w = testing::random_tensor(c.w, 12, -0.2f, 0.2f);
    const auto b = testing::random_tensor(Extents<1>{c.w[0]}, 13);
    const Extents<4> y_shape{c.x[0], c.w[0], ops::conv_output_size(c.x[2], c.w[2], c.stride[0], c.padding[0]),
                             ops::conv_output_size(c.x[3], c.w[3], c.stride[1], c.padding[1])};
    Tensor<float, 4> want(y_shape);
    Tensor<float, 4> got(y_shape);
    with_weight_as(c.dtype, w, [&](const WeightView<4>& weight) {
      ops::conv2d(ref, want.view(), x.view(), weight, b.view(), c.stride, c.padding);
      INFO("x " << shape_string(c.x) << " w " << shape_string(c.w) << " stride " << shape_string(c.stride)
                << " padding " << shape_string(c.padding));
      testing::poison(got.view());
      ops::conv2d(cpu, got.view(), x.view(), weight, b.view(), c.stride, c.padding);
      REQUIRE(testing::relative_l2(got.view(), want.view()) < 1e-5);
      for (index_t block : {7, 37}) {  // GEMM blocks that end mid-row and mid-image
        testing::poison(got.view());
        ops::Conv2d<backend::cpu>::run_in_blocks(cpu, got.view(), x.view(), weight, b.view(), c.stride, c.padding,
                                                 block);
        INFO("block " << block);
        REQUIRE(testing::relative_l2(got.view(), want.view()) < 1e-5);
      }
    });
  }
}

TEST_CASE("cpu conv2d writes into a token buffer and reads a strided input", "[conv2d]") {
  // Patch embedding straight into [N, Gh·Gw, D]: y is the view [N, D, Gh, Gw] of that buffer.
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  const auto image = testing::random_tensor(Extents<4>{2, 3, 2 * 28, 42}, 21);
  const CView<float, 4> x = image.view().slice(2, 28, 56);  // the lower half: rows strided by 42
  const auto w = testing::random_tensor(Extents<4>{64, 3, 14, 14}, 22, -0.1f, 0.1f);
  const auto b = testing::random_tensor(Extents<1>{64}, 23);
  Tensor<float, 4> want(Extents<4>{2, 64, 2, 3});
  ops::conv2d(ref, want.view(), x, w.view(), b.view(), {14, 14});
  Tensor<float, 3> tokens(Extents<3>{2, 6, 64});
  testing::poison(tokens.view());
  const View<float, 4> y = tokens.view().reshape(Extents<4>{2, 2, 3, 64}).transpose(1, 3).transpose(2, 3);
  REQUIRE(y.shape() == Extents<4>{2, 64, 2, 3});
  ops::conv2d(cpu, y, x, w.view(), b.view(), {14, 14});
  REQUIRE(testing::relative_l2(y, want.view()) < 1e-5);
}

TEST_CASE("cpu conv_transpose2d matches the reference", "[conv_transpose2d]") {
  struct Case {
    Extents<4> x;
    index_t out_channels;
    DType dtype;
    bool bias;
  };
  const Case cases[] = {
      {{2, 3, 5, 7}, 5, DType::f16, false},
      {{1, 17, 1, 3}, 9, DType::f32, true},
      {{1, 1, 1, 1}, 1, DType::f32, true},
      {{1, 384, 36, 36}, 256, DType::bf16, true},  // the UperNet 2x upsampling, fewer channels
  };
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  for (const Case& c : testing::sized(cases, 3)) {
    const auto x = testing::random_tensor(c.x, 31);
    const auto w = testing::random_tensor(Extents<4>{c.x[1], c.out_channels, 2, 2}, 32, -0.2f, 0.2f);
    const auto b = testing::random_tensor(Extents<1>{c.out_channels}, 33);
    const CView<float, 1> bias = c.bias ? b.view() : CView<float, 1>{};
    const Extents<4> y_shape{c.x[0], c.out_channels, 2 * c.x[2], 2 * c.x[3]};
    Tensor<float, 4> want(y_shape);
    Tensor<float, 4> got(y_shape);
    with_weight_as(c.dtype, w, [&](const WeightView<4>& weight) {
      ops::conv_transpose2d(ref, want.view(), x.view(), weight, bias);
      INFO("x " << shape_string(c.x) << " out channels " << c.out_channels);
      testing::poison(got.view());
      ops::conv_transpose2d(cpu, got.view(), x.view(), weight, bias);
      REQUIRE(testing::relative_l2(got.view(), want.view()) < 1e-5);
      for (index_t block : {1, 5}) {
        testing::poison(got.view());
        ops::ConvTranspose2d<backend::cpu>::run_in_blocks(cpu, got.view(), x.view(), weight, bias, block);
        INFO("block " << block);
        REQUIRE(testing::relative_l2(got.view(), want.view()) < 1e-5);
      }
    });
  }
}

TEST_CASE("cpu conv_transpose2d reads and writes strided views", "[conv_transpose2d]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  const auto wide_x = testing::random_tensor(Extents<4>{2, 12, 5, 4}, 34);
  const CView<float, 4> x = wide_x.view().slice(1, 3, 9);  // channels 3..8
  const auto w = testing::random_tensor(Extents<4>{6, 7, 2, 2}, 35);
  const auto b = testing::random_tensor(Extents<1>{7}, 36);
  Tensor<float, 4> want(Extents<4>{2, 7, 10, 8});
  ops::conv_transpose2d(ref, want.view(), x, w.view(), b.view());
  Tensor<float, 4> wide_y(Extents<4>{2, 7, 10, 11});
  testing::poison(wide_y.view());
  const View<float, 4> y = wide_y.view().slice(3, 2, 10);
  ops::conv_transpose2d(cpu, y, x, w.view(), b.view());
  REQUIRE(testing::relative_l2(y, want.view()) < 1e-5);
}

TEST_CASE("conv2d rejects bad shapes and parameters", "[conv2d]") {
  Context<backend::cpu> ctx;
  Tensor<float, 4> x(Extents<4>{1, 3, 8, 8}, 1.0f);
  Tensor<float, 4> w(Extents<4>{4, 3, 3, 3}, 1.0f);
  Tensor<float, 4> y(Extents<4>{1, 4, 8, 8});
  Tensor<float, 1> b(Extents<1>{5}, 0.0f);
  REQUIRE_THROWS_WITH(ops::conv2d(ctx, y.view(), x.view(), w.view(), {}, {0, 1}, {1, 1}),
                      Catch::Contains("ops::conv2d") && Catch::Contains("stride must be positive, got [0, 1]"));
  REQUIRE_THROWS_WITH(ops::conv2d(ctx, y.view(), x.view(), w.view(), {}, {1, 1}, {-1, 1}),
                      Catch::Contains("padding must not be negative"));
  Tensor<float, 4> big(Extents<4>{4, 3, 11, 3}, 1.0f);
  REQUIRE_THROWS_WITH(ops::conv2d(ctx, y.view(), x.view(), big.view(), {}, {1, 1}, {1, 1}),
                      Catch::Contains("kernel 11x3 is larger than the padded input 10x10"));
  Tensor<float, 4> x4(Extents<4>{1, 4, 8, 8}, 1.0f);
  REQUIRE_THROWS_WITH(ops::conv2d(ctx, y.view(), x4.view(), w.view(), {}, {1, 1}, {1, 1}),
                      Catch::Contains("weight [4, 3, 3, 3] expects 3 input channels but x [1, 4, 8, 8] has 4"));
  REQUIRE_THROWS_WITH(ops::conv2d(ctx, y.view(), x.view(), w.view(), {}, {1, 1}, {0, 0}),
                      Catch::Contains("y has shape [1, 4, 8, 8], expected [1, 4, 6, 6]"));
  REQUIRE_THROWS_WITH(ops::conv2d(ctx, y.view(), x.view(), w.view(), b.view(), {1, 1}, {1, 1}),
                      Catch::Contains("bias has 5 elements, expected 4"));
  Tensor<float, 4> w_wide(Extents<4>{4, 3, 3, 6}, 1.0f);
  const CView<float, 4> strided_w = w_wide.view().slice(3, 0, 3);
  REQUIRE_THROWS_WITH(ops::conv2d(ctx, y.view(), x.view(), strided_w, {}, {1, 1}, {1, 1}),
                      Catch::Contains("weight [4, 3, 3, 3] must be contiguous"));
}

TEST_CASE("conv_transpose2d rejects bad shapes", "[conv_transpose2d]") {
  Context<backend::cpu> ctx;
  Tensor<float, 4> x(Extents<4>{1, 3, 4, 5}, 1.0f);
  Tensor<float, 4> w(Extents<4>{3, 6, 2, 2}, 1.0f);
  Tensor<float, 4> y(Extents<4>{1, 6, 8, 10});
  Tensor<float, 4> w3(Extents<4>{3, 6, 3, 3}, 1.0f);
  REQUIRE_THROWS_WITH(ops::conv_transpose2d(ctx, y.view(), x.view(), w3.view()),
                      Catch::Contains("ops::conv_transpose2d") && Catch::Contains("only kernel 2x2 with stride 2"));
  Tensor<float, 4> w_in(Extents<4>{4, 6, 2, 2}, 1.0f);
  REQUIRE_THROWS_WITH(ops::conv_transpose2d(ctx, y.view(), x.view(), w_in.view()),
                      Catch::Contains("expects 4 input channels but x [1, 3, 4, 5] has 3"));
  Tensor<float, 4> y_bad(Extents<4>{1, 6, 8, 9});
  REQUIRE_THROWS_WITH(ops::conv_transpose2d(ctx, y_bad.view(), x.view(), w.view()),
                      Catch::Contains("y has shape [1, 6, 8, 9], expected [1, 6, 8, 10]"));
  Tensor<float, 1> b(Extents<1>{3}, 0.0f);
  REQUIRE_THROWS_WITH(ops::conv_transpose2d(ctx, y.view(), x.view(), w.view(), b.view()),
                      Catch::Contains("bias has 3 elements, expected 6"));
}
