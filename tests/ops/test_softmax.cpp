// softmax: the reference against torch.softmax (large logits, offset logits, masked −∞ entries),
// the cpu backend against the reference over the row/width grid (plain, large values, in place),
// and shape errors.
#include <catch2/catch.hpp>

#include <limits>

#include "grid.hpp"
#include "internvl/backend/cpu/softmax.hpp"
#include "internvl/backend/reference/softmax.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

TEST_CASE("reference and cpu softmax match PyTorch", "[softmax]") {
  const auto x = io::read_npy_f32<2>(testing::golden_path("ops/eltwise/softmax_x.npy"));
  const auto expected = io::read_npy_f32<2>(testing::golden_path("ops/eltwise/softmax_y.npy"));
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  Tensor<float, 2> y(x.shape());
  ops::softmax(ref, y.view(), x.view());
  REQUIRE(testing::relative_l2(y.view(), expected.view()) < 1e-6);
  testing::poison(y.view());
  ops::softmax(cpu, y.view(), x.view());
  for (index_t i = 0; i < x.size(0); ++i) {
    INFO("row " << i);
    REQUIRE(testing::relative_l2(y.view()[i], expected.view()[i]) < 1e-6);
  }
  REQUIRE(y(3, 0) == 0.0f);  // a masked logit gets probability 0
}

TEST_CASE("cpu softmax matches the reference over the grid", "[softmax]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  for (index_t rows : testing::grid_rows()) {
    for (index_t width : testing::grid_widths()) {
      // Logits of scale 8 (ordinary) and 80 (nearly one-hot rows; without the max subtracted, exp overflows).
      for (float scale : {8.0f, 80.0f}) {
        INFO("rows " << rows << " width " << width << " scale " << scale);
        const auto x = testing::random_tensor(Extents<2>{rows, width}, testing::grid_seed(rows, width), -scale, scale);
        Tensor<float, 2> want(x.shape());
        Tensor<float, 2> got(x.shape());
        testing::poison(got.view());
        ops::softmax(ref, want.view(), x.view());
        ops::softmax(cpu, got.view(), x.view());
        REQUIRE(testing::relative_l2(got.view(), want.view()) < 1e-6);
        auto in_place = testing::copy_of(x);
        ops::softmax(cpu, in_place.view(), in_place.view());
        REQUIRE(testing::relative_l2(in_place.view(), want.view()) < 1e-6);
      }
    }
  }
}

TEST_CASE("cpu softmax gives zero to masked logits and rows summing to one", "[softmax]") {
  Context<backend::cpu> cpu;
  auto x = testing::random_tensor(Extents<2>{4, 37}, 3, -5, 5);
  for (index_t j = 0; j < 37; j += 4) {
    x(1, j) = -std::numeric_limits<float>::infinity();
  }
  for (index_t j = 0; j < 36; ++j) {  // a row with a single visible logit, in the vector tail
    x(2, j) = -std::numeric_limits<float>::infinity();
  }
  Tensor<float, 2> y(x.shape());
  testing::poison(y.view());
  ops::softmax(cpu, y.view(), x.view());
  for (index_t i = 0; i < 4; ++i) {
    double sum = 0.0;
    for (index_t j = 0; j < 37; ++j) {
      sum += y(i, j);
    }
    REQUIRE(sum == Approx(1.0).epsilon(1e-6));
  }
  REQUIRE(y(1, 0) == 0.0f);
  REQUIRE(y(1, 36) == 0.0f);
  REQUIRE(y(2, 36) == 1.0f);
}

TEST_CASE("softmax rejects bad arguments", "[softmax]") {
  Context<backend::cpu> cpu;
  Tensor<float, 2> x(Extents<2>{4, 8}, 1.0f);
  Tensor<float, 2> y(Extents<2>{4, 7});
  REQUIRE_THROWS_WITH(ops::softmax(cpu, y.view(), x.view()),
                      Catch::Contains("ops::softmax") && Catch::Contains("[4, 7]") && Catch::Contains("[4, 8]"));
  Tensor<float, 2> square(Extents<2>{8, 8}, 1.0f);
  REQUIRE_THROWS_WITH(ops::softmax(cpu, square.view().transpose(0, 1), square.view()),
                      Catch::Contains("y must have unit stride in its last dimension"));
}

TEST_CASE("softmax of a row that is all −∞ is NaN on both backends, as in PyTorch; zero rows are a no-op", "[softmax]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  Tensor<float, 2> x(Extents<2>{2, 11}, -std::numeric_limits<float>::infinity());
  x(1, 4) = 0.0f;
  Tensor<float, 2> y(x.shape(), 0.0f);
  ops::softmax(ref, y.view(), x.view());
  REQUIRE(std::isnan(y(0, 0)));
  REQUIRE(y(1, 4) == 1.0f);
  ops::softmax(cpu, y.view(), x.view());
  REQUIRE(std::isnan(y(0, 10)));
  REQUIRE(y(1, 4) == 1.0f);
  Tensor<float, 2> none(Extents<2>{0, 11});
  ops::softmax(cpu, none.view(), none.view());
}
