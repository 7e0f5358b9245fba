// linear: the reference against PyTorch's F.linear / F.gelu for f32, bf16 and f16 weights.
#include <catch2/catch.hpp>

#include "internvl/backend/cpu/linear.hpp"
#include "internvl/backend/reference/linear.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

template <class W>
void check_reference_against_torch(const std::string& dtype) {
  const auto x = io::read_npy_f32<2>(testing::golden_path("ops/core/linear_x.npy"));
  const auto b = io::read_npy_f32<1>(testing::golden_path("ops/core/linear_b.npy"));
  const auto w = testing::convert<W>(io::read_npy_f32<2>(testing::golden_path("ops/core/linear_w_" + dtype + ".npy")));
  Context<backend::reference> ctx;
  Tensor<float, 2> y(Extents<2>{x.size(0), w.size(0)});
  for (const auto& [suffix, act, bias] :
       {std::tuple{"", ops::Activation::none, true}, std::tuple{"gelu_", ops::Activation::gelu, true},
        std::tuple{"nobias_", ops::Activation::none, false}}) {
    const auto expected = io::read_npy_f32<2>(testing::golden_path("ops/core/linear_y_" + std::string(suffix) + dtype + ".npy"));
    ops::linear(ctx, y.view(), x.view(), w.view(), bias ? b.view() : CView<float, 1>{}, act);
    INFO("weights " << dtype << " case " << suffix);
    REQUIRE(testing::relative_l2(y.view(), expected.view()) < 1e-6);
  }
}

}  // namespace

TEST_CASE("reference linear matches PyTorch", "[linear]") {
  check_reference_against_torch<float>("f32");
  check_reference_against_torch<bf16>("bf16");
  check_reference_against_torch<f16>("f16");
}

TEST_CASE("linear rejects mismatched shapes", "[linear]") {
  Context<backend::reference> ctx;
  Tensor<float, 2> x(Extents<2>{4, 8}, 1.0f);
  Tensor<float, 2> w(Extents<2>{5, 9}, 1.0f);
  Tensor<float, 2> y(Extents<2>{4, 5});
  REQUIRE_THROWS_WITH(ops::linear(ctx, y.view(), x.view(), w.view()),
                      Catch::Contains("ops::linear") && Catch::Contains("x has 8 columns"));
}

TEST_CASE("cpu linear matches the reference", "[linear]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  for (const auto& [m, k, n] : {std::tuple<index_t, index_t, index_t>{1, 1, 1}, {3, 17, 5}, {17, 64, 33}, {257, 1024, 96}}) {
    const auto x = testing::random_tensor(Extents<2>{m, k}, 1);
    const auto w = testing::random_tensor(Extents<2>{n, k}, 2);
    const auto b = testing::random_tensor(Extents<1>{n}, 3);
    Tensor<float, 2> want(Extents<2>{m, n});
    Tensor<float, 2> got(Extents<2>{m, n});
    for (auto act : {ops::Activation::none, ops::Activation::gelu}) {
      ops::linear(ref, want.view(), x.view(), w.view(), b.view(), act);
      testing::poison(got.view());
      ops::linear(cpu, got.view(), x.view(), w.view(), b.view(), act);
      INFO("shape " << m << "x" << k << "x" << n);
      REQUIRE(testing::relative_l2(got.view(), want.view()) < 1e-5);
    }
  }
}
