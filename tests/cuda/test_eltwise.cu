// The element-wise and reduction ops on CUDA against backend::reference: add, gelu, scaled_residual_add
// (map_rows.cuh), softmax and mean_tokens, at InternViT shapes and awkward ones, strided/misaligned and
// in place. Relative L2 tolerances: f32 1e-5, bf16 1e-2, f16 5e-3. Outputs are poisoned with NaN first.
#include <catch2/catch.hpp>

#include <limits>
#include <tuple>

#include "cuda_testing.hpp"
#include "oracle.hpp"

using namespace internvl;
namespace gpu = internvl::cuda;

namespace {

using Shapes = std::initializer_list<std::tuple<index_t, index_t>>;
constexpr Shapes kEltwiseShapes{{257, 3200}, {1025, 1024}, {64, 12800}, {1, 1}, {3, 17}, {5, 4097}};

// rows × width values seen through a view whose rows start one element into a wider buffer.
template <class T>
struct Misaligned {
  gpu::DeviceTensor<T, 2> buffer;
  View<T, 2> view() { return buffer.view().slice(1, 1, buffer.size(1)); }
};

template <class T>
Misaligned<T> misaligned(Context<backend::cuda>& ctx, const Tensor<float, 2>& values) {
  Tensor<float, 2> wide(Extents<2>{values.size(0), values.size(1) + 1}, 0.0f);
  for (index_t i = 0; i < values.size(0); ++i) {
    std::copy_n(&values(i, 0), values.size(1), &wide(i, 1));
  }
  return {testing::to_device<T>(ctx, wide)};
}

}  // namespace

TEMPLATE_TEST_CASE("cuda add, gelu and scaled_residual_add match the reference", "[cuda][eltwise]", float, bf16, f16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 400;
  for (const auto& [rows, width] : kEltwiseShapes) {
    const Extents<2> shape{rows, width};
    const auto a = testing::rounded_to<TestType>(testing::random_tensor(shape, ++seed, -4.0f, 4.0f));
    const auto b = testing::rounded_to<TestType>(testing::random_tensor(shape, ++seed, -4.0f, 4.0f));
    const auto gamma = testing::random_tensor(Extents<1>{width}, ++seed, 0.05f, 0.6f);
    const auto da = testing::to_device<TestType>(ctx, a);
    const auto db = testing::to_device<TestType>(ctx, b);
    const auto dgamma = gpu::upload(ctx, gamma.view());
    INFO(testing::type_name<TestType>() << " rows " << rows << " width " << width);

    auto sum = testing::poisoned<TestType>(ctx, shape);
    ops::add(ctx, sum.view(), da.view(), db.view());
    REQUIRE(testing::relative_l2(testing::to_host(ctx, sum).view(), testing::reference_add(a.view(), b.view()).view()) <
            testing::tolerance<TestType>());

    auto activated = testing::poisoned<TestType>(ctx, shape);
    ops::gelu(ctx, activated.view(), da.view());
    REQUIRE(testing::relative_l2(testing::to_host(ctx, activated).view(), testing::reference_gelu(a.view()).view()) <
            testing::tolerance<TestType>());

    auto x = testing::to_device<TestType>(ctx, a);
    ops::scaled_residual_add(ctx, x.view(), db.view(), dgamma.view());
    const auto want = testing::reference_scaled_residual_add(a.view(), b.view(), gamma.view());
    REQUIRE(testing::relative_l2(testing::to_host(ctx, x).view(), want.view()) < testing::tolerance<TestType>());
  }
}

TEMPLATE_TEST_CASE("cuda element-wise ops: misaligned rows, in place, rank-3 gelu", "[cuda][eltwise]", float, bf16) {
  Context<backend::cuda> ctx;
  const index_t rows = 257, width = 1024;
  const auto a = testing::rounded_to<TestType>(testing::random_tensor(Extents<2>{rows, width}, 31, -4.0f, 4.0f));
  const auto b = testing::rounded_to<TestType>(testing::random_tensor(Extents<2>{rows, width}, 32, -4.0f, 4.0f));
  const auto gamma = testing::random_tensor(Extents<1>{width}, 33, 0.05f, 0.6f);
  const auto dgamma = gpu::upload(ctx, gamma.view());

  SECTION("misaligned rows take the element path") {
    auto ma = misaligned<TestType>(ctx, a);
    auto mb = misaligned<TestType>(ctx, b);
    auto sum = testing::poisoned<TestType>(ctx, Extents<2>{rows, width});
    ops::add(ctx, sum.view(), CView<TestType, 2>(ma.view()), CView<TestType, 2>(mb.view()));
    REQUIRE(testing::relative_l2(testing::to_host(ctx, sum).view(), testing::reference_add(a.view(), b.view()).view()) <
            testing::tolerance<TestType>());
    ops::scaled_residual_add(ctx, ma.view(), CView<TestType, 2>(mb.view()), dgamma.view());
    const Tensor<float, 2> got = testing::to_host(ctx, ma.buffer);
    const auto want = testing::reference_scaled_residual_add(a.view(), b.view(), gamma.view());
    REQUIRE(testing::relative_l2(got.view().slice(1, 1, width + 1), want.view()) < testing::tolerance<TestType>());
  }
  SECTION("in place") {
    auto x = testing::to_device<TestType>(ctx, a);
    const auto db = testing::to_device<TestType>(ctx, b);
    ops::add(ctx, x.view(), CView<TestType, 2>(x.view()), db.view());
    REQUIRE(testing::relative_l2(testing::to_host(ctx, x).view(), testing::reference_add(a.view(), b.view()).view()) <
            testing::tolerance<TestType>());
  }
  SECTION("gelu over [B, S, F] in place") {
    auto x = testing::to_device<TestType>(ctx, a);
    const View<TestType, 3> x3 = x.view().reshape(Extents<3>{1, rows, width});
    ops::gelu(ctx, x3, CView<TestType, 3>(x3));
    REQUIRE(testing::relative_l2(testing::to_host(ctx, x).view(), testing::reference_gelu(a.view()).view()) <
            testing::tolerance<TestType>());
  }
}

TEMPLATE_TEST_CASE("cuda softmax matches the reference", "[cuda][softmax]", float, bf16, f16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 500;
  // Attention rows over 257 and 1025 keys, classification scores, awkward widths; large logits.
  for (const auto& [rows, width, offset] : {std::tuple<index_t, index_t, float>{1600, 257, 0.0f}, {100, 1025, 0.0f},
                                            {2, 1000, 0.0f}, {3, 17, 0.0f}, {1, 1, 0.0f}, {33, 4097, 0.0f},
                                            {8, 300, 1000.0f}}) {
    const auto x = testing::rounded_to<TestType>(
        testing::random_tensor(Extents<2>{rows, width}, ++seed, offset - 8.0f, offset + 8.0f));
    const auto dx = testing::to_device<TestType>(ctx, x);
    auto dy = testing::poisoned<TestType>(ctx, Extents<2>{rows, width});
    ops::softmax(ctx, dy.view(), dx.view());
    INFO(testing::type_name<TestType>() << " rows " << rows << " width " << width << " offset " << offset);
    REQUIRE(testing::relative_l2(testing::to_host(ctx, dy).view(), testing::reference_softmax(x.view()).view()) <
            testing::tolerance<TestType>());
  }
}

TEST_CASE("cuda softmax: in place, misaligned, a row of -inf gives NaN", "[cuda][softmax]") {
  Context<backend::cuda> ctx;
  auto x = testing::random_tensor(Extents<2>{5, 33}, 41, -3.0f, 3.0f);
  const auto want = testing::reference_softmax(x.view());
  auto mx = misaligned<float>(ctx, x);
  ops::softmax(ctx, mx.view(), CView<float, 2>(mx.view()));
  const Tensor<float, 2> got = testing::to_host(ctx, mx.buffer);
  REQUIRE(testing::relative_l2(got.view().slice(1, 1, 34), want.view()) < 1e-5);

  for (index_t j = 0; j < 33; ++j) {
    x(2, j) = -std::numeric_limits<float>::infinity();
  }
  const auto dx = gpu::upload(ctx, x.view());
  auto dy = testing::poisoned<float>(ctx, Extents<2>{5, 33});
  ops::softmax(ctx, dy.view(), dx.view());
  const Tensor<float, 2> out = testing::to_host(ctx, dy);
  REQUIRE(std::isnan(out(2, 0)));
  REQUIRE(std::isfinite(out(1, 0)));
}

TEMPLATE_TEST_CASE("cuda mean_tokens matches the reference", "[cuda][mean_tokens]", float, bf16, f16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 600;
  for (const auto& [batch, tokens, width, begin] :
       {std::tuple<index_t, index_t, index_t, index_t>{2, 1297, 3200, 1}, {3, 257, 1024, 1}, {1, 1025, 3200, 0},
        {3, 17, 5, 16}, {1, 1, 1, 0}}) {
    const auto x =
        testing::rounded_to<TestType>(testing::random_tensor(Extents<3>{batch, tokens, width}, ++seed, 1.0f, 3.0f));
    const auto dx = testing::to_device<TestType>(ctx, x);
    auto out = testing::poisoned<TestType>(ctx, Extents<2>{batch, width});
    ops::mean_tokens(ctx, out.view(), dx.view(), begin, tokens);
    INFO(testing::type_name<TestType>() << " " << batch << " x " << tokens << " x " << width << " from " << begin);
    REQUIRE(testing::relative_l2(testing::to_host(ctx, out).view(),
                                 testing::reference_mean_tokens(x.view(), begin, tokens).view()) < testing::tolerance<TestType>());
  }
}

TEST_CASE("cuda element-wise ops reject host memory", "[cuda][eltwise]") {
  Context<backend::cuda> ctx;
  Tensor<float, 2> x(Extents<2>{2, 8}, 1.0f);
  gpu::DeviceTensor<float, 2> y(Extents<2>{2, 8});
  REQUIRE_THROWS_WITH(ops::add(ctx, y.view(), x.view(), x.view()),
                      Catch::Contains("ops::add") && Catch::Contains("a must point to device memory"));
  REQUIRE_THROWS_WITH(ops::gelu(ctx, y.view(), x.view()), Catch::Contains("ops::gelu"));
  REQUIRE_THROWS_WITH(ops::softmax(ctx, y.view(), x.view()), Catch::Contains("ops::softmax"));
  const Tensor<float, 3> x3(Extents<3>{1, 2, 8}, 1.0f);
  REQUIRE_THROWS_WITH(ops::mean_tokens(ctx, y.view().slice(0, 0, 1), x3.view(), 0, 2),
                      Catch::Contains("ops::mean_tokens") && Catch::Contains("x must point to device memory"));
}
