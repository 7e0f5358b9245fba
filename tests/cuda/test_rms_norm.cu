// ops::rms_norm on CUDA against backend::reference, at InternViT / QLLaMA widths and awkward ones, with
// strided and misaligned rows (the element-by-element path) and in place. Relative L2 tolerances:
// f32 1e-5, bf16 1e-2, f16 5e-3 (the output rounding dominates: 2^-9 and 2^-11 relative).
#include <catch2/catch.hpp>

#include <tuple>

#include "cuda_testing.hpp"
#include "oracle.hpp"

using namespace internvl;
namespace gpu = internvl::cuda;

namespace {

constexpr float kRmsNormEps = 1e-6f;

}  // namespace

TEMPLATE_TEST_CASE("cuda rms_norm matches the reference", "[cuda][rms_norm]", float, bf16, f16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 100;
  for (const auto& [rows, width] : {std::tuple<index_t, index_t>{257, 3200}, {1025, 3200}, {1297, 3200}, {128, 4096},
                                    {257, 1024}, {2, 12800}, {1, 1}, {3, 17}, {5, 4097}, {7, 100}}) {
    const auto x = testing::rounded_to<TestType>(testing::random_tensor(Extents<2>{rows, width}, ++seed, -2.0f, 2.0f));
    const auto w = testing::random_tensor(Extents<1>{width}, ++seed, 0.5f, 1.5f);
    const auto want = testing::reference_rms_norm(x.view(), w.view(), kRmsNormEps);

    const auto dx = testing::to_device<TestType>(ctx, x);
    const auto dw = gpu::upload(ctx, w.view());
    auto dy = testing::poisoned<TestType>(ctx, Extents<2>{rows, width});
    ops::rms_norm(ctx, dy.view(), dx.view(), dw.view(), kRmsNormEps);
    const auto got = testing::to_host(ctx, dy);
    INFO(testing::type_name<TestType>() << " rows " << rows << " width " << width);
    REQUIRE(testing::relative_l2(got.view(), want.view()) < testing::tolerance<TestType>());
  }
}

TEMPLATE_TEST_CASE("cuda rms_norm handles strided, misaligned and in-place rows", "[cuda][rms_norm]", float, bf16,
                   f16) {
  Context<backend::cuda> ctx;
  const index_t rows = 257, width = 3200, pitch = 3203;  // rows start at odd offsets: no 16-byte packs
  const auto buffer = testing::rounded_to<TestType>(testing::random_tensor(Extents<2>{rows, pitch}, 5, -2.0f, 2.0f));
  const auto w = testing::random_tensor(Extents<1>{width}, 6, 0.5f, 1.5f);
  Tensor<float, 2> x(Extents<2>{rows, width});
  for (index_t i = 0; i < rows; ++i) {
    for (index_t j = 0; j < width; ++j) {
      x(i, j) = buffer(i, j + 1);
    }
  }
  const auto want = testing::reference_rms_norm(x.view(), w.view(), kRmsNormEps);
  const auto dw = gpu::upload(ctx, w.view());

  SECTION("strided and misaligned") {
    const auto dbuffer = testing::to_device<TestType>(ctx, buffer);
    auto dy = testing::poisoned<TestType>(ctx, Extents<2>{rows, width});
    ops::rms_norm(ctx, dy.view(), dbuffer.view().slice(1, 1, width + 1), dw.view(), kRmsNormEps);
    REQUIRE(testing::relative_l2(testing::to_host(ctx, dy).view(), want.view()) < testing::tolerance<TestType>());
  }
  SECTION("in place") {
    auto dx = testing::to_device<TestType>(ctx, x);
    ops::rms_norm(ctx, dx.view(), dx.view(), dw.view(), kRmsNormEps);
    REQUIRE(testing::relative_l2(testing::to_host(ctx, dx).view(), want.view()) < testing::tolerance<TestType>());
  }
}

TEST_CASE("cuda rms_norm rejects host memory", "[cuda][rms_norm]") {
  Context<backend::cuda> ctx;
  Tensor<float, 2> x(Extents<2>{2, 8}, 1.0f);
  gpu::DeviceTensor<float, 2> y(Extents<2>{2, 8});
  Tensor<float, 1> w(Extents<1>{8}, 1.0f);
  const auto dw = gpu::upload(ctx, w.view());
  REQUIRE_THROWS_WITH(ops::rms_norm(ctx, y.view(), x.view(), dw.view(), kRmsNormEps),
                      Catch::Contains("ops::rms_norm") && Catch::Contains("x must point to device memory"));
  const auto dx = gpu::upload(ctx, x.view());
  REQUIRE_THROWS_WITH(ops::rms_norm(ctx, y.view(), dx.view(), w.view(), kRmsNormEps),
                      Catch::Contains("weight must point to device memory"));
}
