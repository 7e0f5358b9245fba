// max_pool2d and adaptive_avg_pool2d: the reference against PyTorch (F.max_pool2d, F.adaptive_avg_pool2d),
// NaN propagation, the cpu backend against the reference over the UperNet shapes, awkward and strided
// ones; shape errors.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "internvl/backend/cpu/adaptive_avg_pool2d.hpp"
#include "internvl/backend/cpu/max_pool2d.hpp"
#include "internvl/backend/reference/adaptive_avg_pool2d.hpp"
#include "internvl/backend/reference/max_pool2d.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

std::string fixture(const std::string& name) { return testing::golden_path("ops/conv/" + name + ".npy"); }

}  // namespace

TEST_CASE("reference max_pool2d matches PyTorch", "[max_pool2d]") {
  Context<backend::reference> ctx;
  for (const std::string stem : {"maxpool_even", "maxpool_odd"}) {
    const auto x = io::read_npy_f32<4>(fixture(stem + "_x"));
    const auto expected = io::read_npy_f32<4>(fixture(stem + "_y"));
    Tensor<float, 4> y(expected.shape());
    testing::poison(y.view());
    ops::max_pool2d(ctx, y.view(), x.view());
    INFO("case " << stem);
    REQUIRE(testing::relative_l2(y.view(), expected.view()) == 0.0);
  }
}

TEST_CASE("max_pool2d propagates NaN like PyTorch", "[max_pool2d]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  Tensor<float, 4> x(Extents<4>{1, 1, 2, 4}, -1.0f);
  x(0, 0, 1, 1) = std::numeric_limits<float>::quiet_NaN();  // last in its window's reading order but one
  x(0, 0, 0, 2) = std::numeric_limits<float>::quiet_NaN();  // first in its window
  x(0, 0, 1, 3) = 5.0f;
  for (int backend_index = 0; backend_index < 2; ++backend_index) {
    Tensor<float, 4> y(Extents<4>{1, 1, 1, 2}, 0.0f);
    if (backend_index == 0) {
      ops::max_pool2d(ref, y.view(), x.view());
    } else {
      ops::max_pool2d(cpu, y.view(), x.view());
    }
    REQUIRE(std::isnan(y(0, 0, 0, 0)));
    REQUIRE(std::isnan(y(0, 0, 0, 1)));
  }
}

TEST_CASE("cpu max_pool2d matches the reference", "[max_pool2d]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  for (const Extents<4>& shape :
       {Extents<4>{1, 3200, 36, 36}, Extents<4>{2, 3, 5, 7}, Extents<4>{1, 1, 2, 2}, Extents<4>{3, 17, 9, 2}}) {
    const auto x = testing::random_tensor(shape, 41);
    Tensor<float, 4> want(Extents<4>{shape[0], shape[1], shape[2] / 2, shape[3] / 2});
    Tensor<float, 4> got(want.shape());
    testing::poison(got.view());
    ops::max_pool2d(ref, want.view(), x.view());
    ops::max_pool2d(cpu, got.view(), x.view());
    INFO("x " << shape_string(shape));
    REQUIRE(testing::relative_l2(got.view(), want.view()) == 0.0);
  }
  // Strided: every other channel of the input, written into the left half of a wider output.
  const auto x = testing::random_tensor(Extents<4>{2, 8, 6, 6}, 42);
  Tensor<float, 4> want(Extents<4>{2, 4, 3, 3});
  Tensor<float, 4> wide(Extents<4>{2, 4, 3, 5});
  testing::poison(wide.view());
  const CView<float, 4> x_even{x.data(), {2, 4, 6, 6}, {8 * 36, 2 * 36, 6, 1}};
  const View<float, 4> y = wide.view().slice(3, 0, 3);
  ops::max_pool2d(ref, want.view(), x_even);
  ops::max_pool2d(cpu, y, x_even);
  REQUIRE(testing::relative_l2(y, want.view()) == 0.0);
}

TEST_CASE("reference adaptive_avg_pool2d matches PyTorch", "[adaptive_avg_pool2d]") {
  Context<backend::reference> ctx;
  const auto x18 = io::read_npy_f32<4>(fixture("adaptive_18_x"));
  const auto x7x5 = io::read_npy_f32<4>(fixture("adaptive_7x5_x"));
  for (const auto& [x, stem] :
       {std::pair{&x18, "adaptive_18_to_1"}, std::pair{&x18, "adaptive_18_to_2"}, std::pair{&x18, "adaptive_18_to_3"},
        std::pair{&x18, "adaptive_18_to_6"}, std::pair{&x7x5, "adaptive_7x5_to_3x2"},
        std::pair{&x7x5, "adaptive_7x5_to_4x4"}, std::pair{&x7x5, "adaptive_7x5_to_9x8"}}) {
    const auto expected = io::read_npy_f32<4>(fixture(std::string(stem) + "_y"));
    Tensor<float, 4> y(expected.shape());
    testing::poison(y.view());
    ops::adaptive_avg_pool2d(ctx, y.view(), x->view());
    INFO("case " << stem);
    REQUIRE(testing::relative_l2(y.view(), expected.view()) < 1e-6);
  }
}

TEST_CASE("cpu adaptive_avg_pool2d matches the reference", "[adaptive_avg_pool2d]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  const auto pyramid_input = testing::random_tensor(Extents<4>{1, 3200, 18, 18}, 51);
  const auto small = testing::random_tensor(Extents<4>{2, 3, 7, 5}, 52);
  for (const auto& [x, out] : {std::pair{&pyramid_input, Extents<2>{1, 1}}, std::pair{&pyramid_input, Extents<2>{2, 2}},
                               std::pair{&pyramid_input, Extents<2>{3, 3}}, std::pair{&pyramid_input, Extents<2>{6, 6}},
                               std::pair{&small, Extents<2>{4, 3}}, std::pair{&small, Extents<2>{11, 6}},
                               std::pair{&small, Extents<2>{7, 5}}}) {
    const Extents<4> y_shape{x->size(0), x->size(1), out[0], out[1]};
    Tensor<float, 4> want(y_shape);
    Tensor<float, 4> got(y_shape);
    testing::poison(got.view());
    ops::adaptive_avg_pool2d(ref, want.view(), x->view());
    ops::adaptive_avg_pool2d(cpu, got.view(), x->view());
    INFO("x " << shape_string(x->shape()) << " to " << shape_string(out));
    REQUIRE(testing::relative_l2(got.view(), want.view()) < 1e-6);
  }
}

TEST_CASE("pooling rejects bad shapes", "[max_pool2d][adaptive_avg_pool2d]") {
  Context<backend::cpu> ctx;
  Tensor<float, 4> thin(Extents<4>{1, 2, 1, 6}, 1.0f);
  Tensor<float, 4> y(Extents<4>{1, 2, 0, 3});
  REQUIRE_THROWS_WITH(ops::max_pool2d(ctx, y.view(), thin.view()),
                      Catch::Contains("ops::max_pool2d") && Catch::Contains("smaller than the 2x2 window"));
  Tensor<float, 4> x(Extents<4>{1, 2, 7, 6}, 1.0f);
  Tensor<float, 4> y_bad(Extents<4>{1, 2, 4, 3});
  REQUIRE_THROWS_WITH(ops::max_pool2d(ctx, y_bad.view(), x.view()),
                      Catch::Contains("y has shape [1, 2, 4, 3], expected [1, 2, 3, 3]"));
  Tensor<float, 4> y_channels(Extents<4>{1, 3, 2, 2});
  REQUIRE_THROWS_WITH(ops::adaptive_avg_pool2d(ctx, y_channels.view(), x.view()),
                      Catch::Contains("ops::adaptive_avg_pool2d") && Catch::Contains("disagree on batch or channels"));
  Tensor<float, 4> y_empty(Extents<4>{1, 2, 0, 2});
  REQUIRE_THROWS_WITH(ops::adaptive_avg_pool2d(ctx, y_empty.view(), x.view()),
                      Catch::Contains("asks for an empty output"));
  Tensor<float, 4> x_empty(Extents<4>{1, 2, 0, 6});
  Tensor<float, 4> y_ok(Extents<4>{1, 2, 2, 2});
  REQUIRE_THROWS_WITH(ops::adaptive_avg_pool2d(ctx, y_ok.view(), x_empty.view()), Catch::Contains("has no pixels"));
}
