// ops::layer_norm and ops::scaled_residual_add_norm on CUDA against backend::reference, at InternViT-300M,
// 6B and projector widths and awkward ones, with a large common offset in the rows, strided and
// misaligned rows (the element-by-element path), in place, and h aliasing y. Relative L2 tolerances:
// f32 1e-5, bf16 1e-2, f16 5e-3 (the output rounding dominates). Outputs are poisoned with NaN first.
#include <catch2/catch.hpp>

#include <tuple>

#include "cuda_testing.hpp"
#include "oracle.hpp"

using namespace internvl;
namespace gpu = internvl::cuda;

namespace {

constexpr float kEps = 1e-6f;

using Shapes = std::initializer_list<std::tuple<index_t, index_t>>;
constexpr Shapes kNormShapes{{257, 1024}, {1025, 1024}, {1297, 3200}, {256, 12800}, {64, 4096},
                             {1, 1},      {3, 17},      {5, 4097},    {7, 100}};

}  // namespace

TEMPLATE_TEST_CASE("cuda layer_norm matches the reference", "[cuda][layer_norm]", float, bf16, f16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 200;
  for (const auto& [rows, width] : kNormShapes) {
    for (const float offset : {0.0f, 50.0f}) {  // a large common offset must cost no accuracy
      const auto x = testing::rounded_to<TestType>(
          testing::random_tensor(Extents<2>{rows, width}, ++seed, offset - 2.0f, offset + 2.0f));
      const auto w = testing::random_tensor(Extents<1>{width}, ++seed, 0.5f, 1.5f);
      const auto b = testing::random_tensor(Extents<1>{width}, ++seed, -0.5f, 0.5f);
      const auto want = testing::reference_layer_norm(x.view(), w.view(), b.view(), kEps);

      const auto dx = testing::to_device<TestType>(ctx, x);
      const auto dw = gpu::upload(ctx, w.view());
      const auto db = gpu::upload(ctx, b.view());
      auto dy = testing::poisoned<TestType>(ctx, Extents<2>{rows, width});
      ops::layer_norm(ctx, dy.view(), dx.view(), dw.view(), db.view(), kEps);
      INFO(testing::type_name<TestType>() << " rows " << rows << " width " << width << " offset " << offset);
      REQUIRE(testing::relative_l2(testing::to_host(ctx, dy).view(), want.view()) < testing::tolerance<TestType>());
    }
  }
}

TEMPLATE_TEST_CASE("cuda layer_norm handles strided, misaligned and in-place rows", "[cuda][layer_norm]", float, bf16,
                   f16) {
  Context<backend::cuda> ctx;
  const index_t rows = 257, width = 1024, pitch = 1027;  // rows start at odd offsets: no 16-byte packs
  const auto buffer = testing::rounded_to<TestType>(testing::random_tensor(Extents<2>{rows, pitch}, 7, -2.0f, 2.0f));
  const auto w = testing::random_tensor(Extents<1>{width}, 8, 0.5f, 1.5f);
  const auto b = testing::random_tensor(Extents<1>{width}, 9, -0.5f, 0.5f);
  Tensor<float, 2> x(Extents<2>{rows, width});
  for (index_t i = 0; i < rows; ++i) {
    for (index_t j = 0; j < width; ++j) {
      x(i, j) = buffer(i, j + 1);
    }
  }
  const auto want = testing::reference_layer_norm(x.view(), w.view(), b.view(), kEps);
  const auto dw = gpu::upload(ctx, w.view());
  const auto db = gpu::upload(ctx, b.view());

  SECTION("strided and misaligned") {
    const auto dbuffer = testing::to_device<TestType>(ctx, buffer);
    auto dy = testing::poisoned<TestType>(ctx, Extents<2>{rows, width});
    ops::layer_norm(ctx, dy.view(), dbuffer.view().slice(1, 1, width + 1), dw.view(), db.view(), kEps);
    REQUIRE(testing::relative_l2(testing::to_host(ctx, dy).view(), want.view()) < testing::tolerance<TestType>());
  }
  SECTION("in place") {
    auto dx = testing::to_device<TestType>(ctx, x);
    ops::layer_norm(ctx, dx.view(), dx.view(), dw.view(), db.view(), kEps);
    REQUIRE(testing::relative_l2(testing::to_host(ctx, dx).view(), want.view()) < testing::tolerance<TestType>());
  }
}

TEMPLATE_TEST_CASE("cuda scaled_residual_add_norm matches the two reference ops", "[cuda][scaled_residual_add_norm]",
                   float, bf16, f16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 300;
  for (const config::Norm norm : {config::Norm::rms_norm, config::Norm::layer_norm}) {
    for (const auto& [rows, width] : kNormShapes) {
      const auto x = testing::rounded_to<TestType>(testing::random_tensor(Extents<2>{rows, width}, ++seed, -2.0f, 2.0f));
      const auto y = testing::rounded_to<TestType>(testing::random_tensor(Extents<2>{rows, width}, ++seed, -2.0f, 2.0f));
      const auto gamma = testing::random_tensor(Extents<1>{width}, ++seed, 0.05f, 0.6f);
      const auto w = testing::random_tensor(Extents<1>{width}, ++seed, 0.5f, 1.5f);
      const auto b = testing::random_tensor(Extents<1>{width}, ++seed, -0.5f, 0.5f);
      const bool layer = norm == config::Norm::layer_norm;
      const CView<float, 1> bias = layer ? b.view() : CView<float, 1>{};
      // The reference x is rounded to the element type before its norm, as the GPU stores it.
      auto want = testing::reference_scaled_residual_add_norm(x.view(), y.view(), gamma.view(), norm, w.view(), bias,
                                                              kEps);
      const auto want_x = testing::rounded_to<TestType>(want.x);
      const auto want_h = layer ? testing::reference_layer_norm(want_x.view(), w.view(), b.view(), kEps)
                                : testing::reference_rms_norm(want_x.view(), w.view(), kEps);

      auto dx = testing::to_device<TestType>(ctx, x);
      const auto dy = testing::to_device<TestType>(ctx, y);
      const auto dgamma = gpu::upload(ctx, gamma.view());
      const auto dw = gpu::upload(ctx, w.view());
      const auto db = gpu::upload(ctx, b.view());
      auto dh = testing::poisoned<TestType>(ctx, Extents<2>{rows, width});
      ops::scaled_residual_add_norm(ctx, dx.view(), dh.view(), dy.view(), dgamma.view(), norm, dw.view(),
                                    layer ? CView<float, 1>(db.view()) : CView<float, 1>{}, kEps);
      INFO(testing::type_name<TestType>() << " " << config::name_of(norm) << " rows " << rows << " width " << width);
      REQUIRE(testing::relative_l2(testing::to_host(ctx, dx).view(), want.x.view()) < testing::tolerance<TestType>());
      REQUIRE(testing::relative_l2(testing::to_host(ctx, dh).view(), want_h.view()) < testing::tolerance<TestType>());
    }
  }
}

TEMPLATE_TEST_CASE("cuda scaled_residual_add_norm: strided rows, h aliasing y", "[cuda][scaled_residual_add_norm]",
                   float, bf16) {
  Context<backend::cuda> ctx;
  const index_t rows = 129, width = 3200, pitch = 3201;
  const auto buffer = testing::rounded_to<TestType>(testing::random_tensor(Extents<2>{rows, pitch}, 11, -2.0f, 2.0f));
  const auto y = testing::rounded_to<TestType>(testing::random_tensor(Extents<2>{rows, width}, 12, -2.0f, 2.0f));
  const auto gamma = testing::random_tensor(Extents<1>{width}, 13, 0.05f, 0.6f);
  const auto w = testing::random_tensor(Extents<1>{width}, 14, 0.5f, 1.5f);
  Tensor<float, 2> x(Extents<2>{rows, width});
  for (index_t i = 0; i < rows; ++i) {
    for (index_t j = 0; j < width; ++j) {
      x(i, j) = buffer(i, j + 1);
    }
  }
  const auto want = testing::reference_scaled_residual_add_norm(x.view(), y.view(), gamma.view(),
                                                                config::Norm::rms_norm, w.view(), {}, kEps);
  const auto want_h = testing::reference_rms_norm(testing::rounded_to<TestType>(want.x).view(), w.view(), kEps);
  auto dbuffer = testing::to_device<TestType>(ctx, buffer);
  auto dy = testing::to_device<TestType>(ctx, y);  // h is written over y
  const auto dgamma = gpu::upload(ctx, gamma.view());
  const auto dw = gpu::upload(ctx, w.view());
  const View<TestType, 2> dx = dbuffer.view().slice(1, 1, width + 1);
  ops::scaled_residual_add_norm(ctx, dx, dy.view(), dy.view(), dgamma.view(), config::Norm::rms_norm, dw.view(), {},
                                kEps);
  const Tensor<float, 2> got_buffer = testing::to_host(ctx, dbuffer);
  Tensor<float, 2> got_x(Extents<2>{rows, width});
  for (index_t i = 0; i < rows; ++i) {
    REQUIRE(got_buffer(i, 0) == buffer(i, 0));  // the column before the view is untouched
    for (index_t j = 0; j < width; ++j) {
      got_x(i, j) = got_buffer(i, j + 1);
    }
  }
  REQUIRE(testing::relative_l2(got_x.view(), want.x.view()) < testing::tolerance<TestType>());
  REQUIRE(testing::relative_l2(testing::to_host(ctx, dy).view(), want_h.view()) < testing::tolerance<TestType>());
}

TEST_CASE("cuda rms_norm on q and k inside a packed QKV buffer (row stride 3D)", "[cuda][rms_norm]") {
  Context<backend::cuda> ctx;
  const index_t rows = 257, d = 3200;
  const auto qkv = testing::rounded_to<bf16>(testing::random_tensor(Extents<2>{rows, 3 * d}, 21, -2.0f, 2.0f));
  const auto w = testing::random_tensor(Extents<1>{d}, 22, 0.5f, 1.5f);
  Tensor<float, 2> want(qkv.shape());  // q and k normalised in place, v untouched
  std::copy_n(qkv.data(), qkv.numel(), want.data());
  for (const index_t part : {0, 1}) {
    Tensor<float, 2> slice(Extents<2>{rows, d});
    for (index_t i = 0; i < rows; ++i) {
      std::copy_n(&qkv(i, part * d), d, &slice(i, 0));
    }
    const auto normed = testing::reference_rms_norm(slice.view(), w.view(), kEps);
    for (index_t i = 0; i < rows; ++i) {
      std::copy_n(&normed(i, 0), d, &want(i, part * d));
    }
  }
  auto dqkv = testing::to_device<bf16>(ctx, qkv);
  const auto dw = gpu::upload(ctx, w.view());
  for (const index_t part : {0, 1}) {
    const View<bf16, 2> view = dqkv.view().slice(1, part * d, (part + 1) * d);
    ops::rms_norm(ctx, view, CView<bf16, 2>(view), dw.view(), kEps);
  }
  const Tensor<float, 2> got = testing::to_host(ctx, dqkv);
  REQUIRE(testing::relative_l2(got.view(), want.view()) < 1e-2);
  REQUIRE(testing::relative_l2(got.view().slice(1, 2 * d, 3 * d), qkv.view().slice(1, 2 * d, 3 * d)) == 0.0);
}

TEST_CASE("cuda norms reject host memory", "[cuda][layer_norm]") {
  Context<backend::cuda> ctx;
  Tensor<float, 2> x(Extents<2>{2, 8}, 1.0f);
  Tensor<float, 1> w(Extents<1>{8}, 1.0f);
  const auto dx = gpu::upload(ctx, x.view());
  const auto dw = gpu::upload(ctx, w.view());
  gpu::DeviceTensor<float, 2> y(Extents<2>{2, 8});
  REQUIRE_THROWS_WITH(ops::layer_norm(ctx, y.view(), x.view(), dw.view(), dw.view(), kEps),
                      Catch::Contains("ops::layer_norm") && Catch::Contains("x must point to device memory"));
  REQUIRE_THROWS_WITH(ops::layer_norm(ctx, y.view(), dx.view(), dw.view(), w.view(), kEps),
                      Catch::Contains("bias must point to device memory"));
  auto dx2 = gpu::upload(ctx, x.view());
  REQUIRE_THROWS_WITH(ops::scaled_residual_add_norm(ctx, dx2.view(), y.view(), dx.view(), w.view(),
                                                    config::Norm::rms_norm, dw.view(), {}, kEps),
                      Catch::Contains("ops::scaled_residual_add_norm") &&
                          Catch::Contains("gamma must point to device memory"));
}
