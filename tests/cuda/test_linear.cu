// ops::linear on CUDA against backend::reference: the InternViT-6B / 300M projections at their real
// shapes (qkv, proj, fc1 + GELU, fc2), awkward shapes with every bias / activation combination, strided
// operands, the cublasGemmEx fallback, TF32 products of f32 operands when the context asks for them, and
// bad input. Relative L2 tolerances: f32 1e-5 (the f32 mode uses no TF32 unless asked), bf16 1e-2, f16 5e-3
// (output rounding, plus one more rounding of the GEMM result before bias + GELU).
#include <catch2/catch.hpp>

#include <cmath>
#include <tuple>

#include "cuda_testing.hpp"
#include "oracle.hpp"

using namespace internvl;
namespace gpu = internvl::cuda;

namespace {

struct Case {
  index_t m, k, n;
  bool bias;
  ops::Activation act;
};

// Runs one case on fresh random inputs; x and y may live inside wider buffers (pitch > width).
template <class T>
void check_linear(Context<backend::cuda>& ctx, const Case& c, std::uint64_t seed, index_t x_pad = 0,
                  index_t y_pad = 0) {
  const float w_range = 1.0f / std::sqrt(static_cast<float>(std::max<index_t>(c.k, 1)));
  const auto x_buffer = testing::rounded_to<T>(testing::random_tensor(Extents<2>{c.m, c.k + x_pad}, seed));
  const auto w = testing::rounded_to<T>(testing::random_tensor(Extents<2>{c.n, c.k}, seed + 1, -w_range, w_range));
  const auto b = testing::random_tensor(Extents<1>{c.n}, seed + 2);
  const CView<float, 2> x = x_buffer.view().slice(1, 0, c.k);
  const auto want = testing::reference_linear(x, w.view(), c.bias ? b.view() : CView<float, 1>{}, c.act);

  const auto dx = testing::to_device<T>(ctx, x_buffer);
  const auto dw = testing::to_device<T>(ctx, w);
  const auto db = gpu::upload(ctx, b.view());
  auto dy = testing::poisoned<T>(ctx, Extents<2>{c.m, c.n + y_pad});
  ops::linear(ctx, dy.view().slice(1, 0, c.n), dx.view().slice(1, 0, c.k), dw.view(),
              c.bias ? db.view() : CView<float, 1>{}, c.act);
  const auto got = testing::to_host(ctx, dy);
  INFO(testing::type_name<T>() << " m " << c.m << " k " << c.k << " n " << c.n << " bias " << c.bias << " gelu "
                               << (c.act == ops::Activation::gelu) << " pads " << x_pad << "/" << y_pad);
  REQUIRE(testing::relative_l2(got.view().slice(1, 0, c.n), want.view()) < testing::tolerance<T>());
  for (index_t i = 0; i < c.m; ++i) {  // nothing written outside the view
    for (index_t j = c.n; j < c.n + y_pad; ++j) {
      REQUIRE(std::isnan(got(i, j)));
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE("cuda linear matches the reference at InternViT shapes", "[cuda][linear]", float, bf16, f16) {
  Context<backend::cuda> ctx;
  using ops::Activation;
  std::uint64_t seed = 1000;
  for (const Case& c : {Case{257, 3200, 9600, false, Activation::none},   // InternViT-6B qkv
                        Case{257, 3200, 3200, true, Activation::none},    // attention projection
                        Case{257, 3200, 12800, true, Activation::gelu},   // MLP fc1 + GELU
                        Case{257, 12800, 3200, true, Activation::none},   // MLP fc2
                        Case{1025, 1024, 3072, true, Activation::none},   // InternViT-300M qkv (448 px)
                        Case{1025, 1024, 4096, true, Activation::gelu}})  // InternViT-300M fc1
  {
    check_linear<TestType>(ctx, c, seed += 10);
  }
}

TEMPLATE_TEST_CASE("cuda linear handles awkward shapes with every epilogue", "[cuda][linear]", float, bf16, f16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 2000;
  for (const auto& [m, k, n] : {std::tuple<index_t, index_t, index_t>{1, 1, 1}, {3, 17, 5}, {5, 7, 3}, {17, 64, 33},
                                {33, 100, 65}, {1, 3200, 96}, {96, 4096, 1}, {4, 0, 6}}) {
    for (const bool bias : {false, true}) {
      for (const auto act : {ops::Activation::none, ops::Activation::gelu}) {
        check_linear<TestType>(ctx, Case{m, k, n, bias, act}, seed += 10);
      }
    }
  }
}

TEMPLATE_TEST_CASE("cuda linear reads and writes strided rows", "[cuda][linear]", float, bf16, f16) {
  Context<backend::cuda> ctx;
  check_linear<TestType>(ctx, Case{257, 1024, 1000, true, ops::Activation::gelu}, 3000, 8, 24);
  check_linear<TestType>(ctx, Case{64, 96, 80, true, ops::Activation::none}, 3010, 1, 3);  // unaligned rows
}

TEMPLATE_TEST_CASE("the cublasGemmEx fallback computes the same product", "[cuda][linear]", float, bf16) {
  Context<backend::cuda> ctx;
  const index_t m = 129, k = 640, n = 200;
  const auto x = testing::rounded_to<TestType>(testing::random_tensor(Extents<2>{m, k}, 41));
  const auto w = testing::rounded_to<TestType>(testing::random_tensor(Extents<2>{n, k}, 42, -0.05f, 0.05f));
  const auto want = testing::reference_linear(x.view(), w.view(), {}, ops::Activation::none);
  const auto dx = testing::to_device<TestType>(ctx, x);
  const auto dw = testing::to_device<TestType>(ctx, w);
  auto dy = testing::poisoned<TestType>(ctx, Extents<2>{m, n});
  gpu::gemm_cublas<TestType>(ctx, dy.view(), dx.view(), dw.view());
  REQUIRE(testing::relative_l2(testing::to_host(ctx, dy).view(), want.view()) < testing::tolerance<TestType>());
}

// A context set to TF32 products multiplies f32 operands as TF32 (10 mantissa bits: relative L2 about 3e-4
// with operands rounded to nearest, 7e-4 truncated, at k = 3200: neither exact nor worse than TF32), and only f32 ones;
// set back to exact, the same shape on the same context is exact again (the plans are kept apart by compute type);
// through the cublasGemmEx fallback too.
TEST_CASE("cuda f32 products in TF32 when the context asks for them", "[cuda][linear]") {
  Context<backend::cuda> ctx;
  const index_t m = 257, k = 3200, n = 640;
  const auto x = testing::random_tensor(Extents<2>{m, k}, 61);
  const auto w = testing::random_tensor(Extents<2>{n, k}, 62, -0.02f, 0.02f);
  const auto want = testing::reference_linear(x.view(), w.view(), {}, ops::Activation::none);
  const auto dx = gpu::upload(ctx, x.view());
  const auto dw = gpu::upload(ctx, w.view());
  // The product through ops::linear (cuBLASLt) or through the cublasGemmEx fallback.
  const auto error = [&](bool fallback) {
    auto dy = testing::poisoned<float>(ctx, Extents<2>{m, n});
    if (fallback) {
      gpu::gemm_cublas<float>(ctx, dy.view(), dx.view(), dw.view());
    } else {
      ops::linear(ctx, dy.view(), dx.view(), dw.view());
    }
    return testing::relative_l2(testing::to_host(ctx, dy).view(), want.view());
  };
  for (const bool fallback : {false, true}) {
    INFO((fallback ? "cublasGemmEx" : "cuBLASLt"));
    ctx.set_f32_products(gpu::F32Products::exact);
    CHECK(error(fallback) < 1e-5);
    ctx.set_f32_products(gpu::F32Products::tf32);
    const double tf32 = error(fallback);
    INFO("TF32 products: relative L2 " << tf32);
    CHECK(tf32 > 1e-6);
    CHECK(tf32 < 3e-3);
    check_linear<bf16>(ctx, Case{m, k, n, true, ops::Activation::none}, 63);  // bf16 operands as before
    ctx.set_f32_products(gpu::F32Products::exact);
    CHECK(error(fallback) < 1e-5);
  }
}

// Why ops::linear applies GELU itself: cuBLASLt's GELU epilogue is documented only as "GELU"; this
// measures which form it computes (f32, so the GEMM's own error is ~1e-7 and the two forms, which
// differ by up to ~5e-4 around |x| = 2, are told apart).
TEST_CASE("cuBLASLt GELU epilogue form", "[cuda][linear]") {
  Context<backend::cuda> ctx;
  const index_t m = 64, k = 256, n = 128;
  const auto x = testing::random_tensor(Extents<2>{m, k}, 51);
  const auto w = testing::random_tensor(Extents<2>{n, k}, 52, -0.25f, 0.25f);  // pre-activations spread over ±3
  const auto product = testing::reference_linear(x.view(), w.view(), {}, ops::Activation::none);
  const auto dx = gpu::upload(ctx, x.view());
  const auto dw = gpu::upload(ctx, w.view());
  auto dy = testing::poisoned<float>(ctx, Extents<2>{m, n});
  if (!gpu::gemm_lt<float>(ctx, dy.view(), dx.view(), dw.view(), nullptr, CUBLASLT_EPILOGUE_GELU)) {
    WARN("cuBLASLt offers no f32 GEMM with a GELU epilogue here: its form cannot be measured");
    return;
  }
  const Tensor<float, 2> got = gpu::download(ctx, dy.view());
  double err_erf = 0.0, err_tanh = 0.0;
  for (index_t i = 0; i < product.numel(); ++i) {
    const double v = product.data()[i];
    const double exact = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    const double tanh_form = 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
    err_erf = std::max(err_erf, std::abs(got.data()[i] - exact));
    err_tanh = std::max(err_tanh, std::abs(got.data()[i] - tanh_form));
  }
  WARN("cuBLASLt GELU epilogue: max |difference| from the erf form " << err_erf << ", from the tanh form " << err_tanh
                                                                      << " -> it computes the "
                                                                      << (err_tanh < err_erf ? "tanh" : "erf")
                                                                      << " form");
  REQUIRE(std::min(err_erf, err_tanh) < 1e-4);  // one of the two forms (which one is printed above)
}

TEST_CASE("cuda linear rejects mismatched dtypes and host memory", "[cuda][linear]") {
  Context<backend::cuda> ctx;
  gpu::DeviceTensor<bf16, 2> x(Extents<2>{4, 8});
  gpu::DeviceTensor<bf16, 2> y(Extents<2>{4, 5});
  gpu::DeviceTensor<float, 2> w32(Extents<2>{5, 8});
  REQUIRE_THROWS_WITH(ops::linear(ctx, y.view(), x.view(), w32.view()),
                      Catch::Contains("ops::linear") && Catch::Contains("weight must have the activations' dtype") &&
                          Catch::Contains("got a f32 weight"));
  Tensor<bf16, 2> host_w(Extents<2>{5, 8});
  REQUIRE_THROWS_WITH(ops::linear(ctx, y.view(), x.view(), host_w.view()),
                      Catch::Contains("weight must point to device memory"));
}
