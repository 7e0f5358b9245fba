// add and scaled_residual_add (LayerScale): the references against PyTorch (a + b, x + γ·y), the
// cpu backend against the reference over the row/width grid (in place on either operand, large
// values), and shape errors.
#include <catch2/catch.hpp>

#include "grid.hpp"
#include "internvl/backend/cpu/add.hpp"
#include "internvl/backend/cpu/scaled_residual_add.hpp"
#include "internvl/backend/reference/add.hpp"
#include "internvl/backend/reference/scaled_residual_add.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

TEST_CASE("reference and cpu add and scaled_residual_add match PyTorch", "[residual]") {
  const auto a = io::read_npy_f32<2>(testing::golden_path("ops/eltwise/add_a.npy"));
  const auto b = io::read_npy_f32<2>(testing::golden_path("ops/eltwise/add_b.npy"));
  const auto gamma = io::read_npy_f32<1>(testing::golden_path("ops/eltwise/scaled_residual_add_gamma.npy"));
  const auto sum = io::read_npy_f32<2>(testing::golden_path("ops/eltwise/add_y.npy"));
  const auto scaled_sum = io::read_npy_f32<2>(testing::golden_path("ops/eltwise/scaled_residual_add_y.npy"));
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  Tensor<float, 2> y(a.shape());
  ops::add(ref, y.view(), a.view(), b.view());
  REQUIRE(testing::relative_l2(y.view(), sum.view()) < 1e-6);
  testing::poison(y.view());
  ops::add(cpu, y.view(), a.view(), b.view());
  REQUIRE(testing::relative_l2(y.view(), sum.view()) < 1e-6);
  auto x = testing::copy_of(a);
  ops::scaled_residual_add(ref, x.view(), b.view(), gamma.view());
  REQUIRE(testing::relative_l2(x.view(), scaled_sum.view()) < 1e-6);
  x = testing::copy_of(a);
  ops::scaled_residual_add(cpu, x.view(), b.view(), gamma.view());
  REQUIRE(testing::relative_l2(x.view(), scaled_sum.view()) < 1e-6);
}

TEST_CASE("cpu add and scaled_residual_add match the reference over the grid", "[residual]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  for (index_t rows : testing::grid_rows()) {
    for (index_t width : testing::grid_widths()) {
      INFO("rows " << rows << " width " << width);
      // The residual stream of InternViT-6B carries values in the hundreds; branches are smaller.
      const auto a = testing::random_tensor(Extents<2>{rows, width}, testing::grid_seed(rows, width), -300, 300);
      const auto b = testing::random_tensor(Extents<2>{rows, width}, testing::grid_seed(rows, width) + 1, -4, 4);
      const auto gamma = testing::random_tensor(Extents<1>{width}, 9, -0.5f, 0.5f);

      Tensor<float, 2> want(a.shape());
      Tensor<float, 2> got(a.shape());
      testing::poison(got.view());
      ops::add(ref, want.view(), a.view(), b.view());
      ops::add(cpu, got.view(), a.view(), b.view());
      REQUIRE(testing::relative_l2(got.view(), want.view()) < 1e-6);
      auto on_a = testing::copy_of(a);
      ops::add(cpu, on_a.view(), on_a.view(), b.view());
      REQUIRE(testing::relative_l2(on_a.view(), want.view()) < 1e-6);
      auto on_b = testing::copy_of(b);
      ops::add(cpu, on_b.view(), a.view(), on_b.view());
      REQUIRE(testing::relative_l2(on_b.view(), want.view()) < 1e-6);

      auto x_ref = testing::copy_of(a);
      auto x_cpu = testing::copy_of(a);
      ops::scaled_residual_add(ref, x_ref.view(), b.view(), gamma.view());
      ops::scaled_residual_add(cpu, x_cpu.view(), b.view(), gamma.view());
      REQUIRE(testing::relative_l2(x_cpu.view(), x_ref.view()) < 1e-6);
      // The update itself (x − a = γ·y), not only the sum dominated by a, must be right: up to
      // the rounding of x (its ulp, 3e-5 at 300, against updates of size ~1), 1e-4 relative.
      REQUIRE(testing::relative_l2(testing::difference(x_cpu, a).view(), testing::difference(x_ref, a).view()) < 1e-4);
    }
  }
}

TEST_CASE("add and scaled_residual_add reject bad arguments", "[residual]") {
  Context<backend::cpu> cpu;
  Tensor<float, 2> a(Extents<2>{4, 8}, 1.0f);
  Tensor<float, 2> b(Extents<2>{4, 7}, 1.0f);
  Tensor<float, 1> gamma(Extents<1>{8}, 1.0f);
  Tensor<float, 1> gamma_bad(Extents<1>{7}, 1.0f);
  REQUIRE_THROWS_WITH(ops::add(cpu, a.view(), a.view(), b.view()),
                      Catch::Contains("ops::add") && Catch::Contains("a has shape [4, 8] but b has shape [4, 7]"));
  REQUIRE_THROWS_WITH(ops::add(cpu, b.view(), a.view(), a.view()),
                      Catch::Contains("y has shape [4, 7] but a has shape [4, 8]"));
  REQUIRE_THROWS_WITH(ops::scaled_residual_add(cpu, a.view(), b.view(), gamma.view()),
                      Catch::Contains("ops::scaled_residual_add") && Catch::Contains("[4, 7]"));
  REQUIRE_THROWS_WITH(ops::scaled_residual_add(cpu, a.view(), a.view(), gamma_bad.view()),
                      Catch::Contains("gamma has shape [7], expected [8]"));
  Tensor<float, 2> square(Extents<2>{8, 8}, 1.0f);
  REQUIRE_THROWS_WITH(ops::add(cpu, square.view(), square.view(), square.view().transpose(0, 1)),
                      Catch::Contains("b must have unit stride in its last dimension"));
}
