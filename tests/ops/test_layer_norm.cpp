// layer_norm: the reference against PyTorch's F.layer_norm, the cpu backend against the reference
// over the row/width grid (plain inputs, a large common offset, in place, row-strided views), and
// shape errors.
#include <catch2/catch.hpp>

#include "grid.hpp"
#include "internvl/backend/cpu/layer_norm.hpp"
#include "internvl/backend/reference/layer_norm.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

constexpr float kEps = 1e-6f;

Tensor<float, 2> reference_layer_norm(const Tensor<float, 2>& x, const Tensor<float, 1>& w, const Tensor<float, 1>& b) {
  Context<backend::reference> ref;
  Tensor<float, 2> y(x.shape());
  ops::layer_norm(ref, y.view(), x.view(), w.view(), b.view(), kEps);
  return y;
}

}  // namespace

TEST_CASE("reference layer_norm matches PyTorch", "[layer_norm]") {
  const auto x = io::read_npy_f32<2>(testing::golden_path("ops/eltwise/layer_norm_x.npy"));
  const auto w = io::read_npy_f32<1>(testing::golden_path("ops/eltwise/layer_norm_w.npy"));
  const auto b = io::read_npy_f32<1>(testing::golden_path("ops/eltwise/layer_norm_b.npy"));
  const auto expected = io::read_npy_f32<2>(testing::golden_path("ops/eltwise/layer_norm_y.npy"));
  REQUIRE(testing::relative_l2(reference_layer_norm(x, w, b).view(), expected.view()) < 1e-6);
}

TEST_CASE("cpu layer_norm matches PyTorch, including offset, tiny-variance and constant rows", "[layer_norm]") {
  const auto x = io::read_npy_f32<2>(testing::golden_path("ops/eltwise/layer_norm_x.npy"));
  const auto w = io::read_npy_f32<1>(testing::golden_path("ops/eltwise/layer_norm_w.npy"));
  const auto b = io::read_npy_f32<1>(testing::golden_path("ops/eltwise/layer_norm_b.npy"));
  const auto expected = io::read_npy_f32<2>(testing::golden_path("ops/eltwise/layer_norm_y.npy"));
  Context<backend::cpu> cpu;
  Tensor<float, 2> y(x.shape());
  testing::poison(y.view());
  ops::layer_norm(cpu, y.view(), x.view(), w.view(), b.view(), kEps);
  for (index_t i = 0; i < x.size(0); ++i) {
    INFO("row " << i);
    REQUIRE(testing::relative_l2(y.view()[i], expected.view()[i]) < 1e-6);
  }
}

TEST_CASE("cpu layer_norm matches the reference over the grid", "[layer_norm]") {
  Context<backend::cpu> cpu;
  for (index_t rows : testing::grid_rows()) {
    for (index_t width : testing::grid_widths()) {
      const auto w = testing::random_tensor(Extents<1>{width}, 5);
      const auto b = testing::random_tensor(Extents<1>{width}, 6);
      const auto plain = testing::random_tensor(Extents<2>{rows, width}, testing::grid_seed(rows, width), -4, 4);
      for (float offset : {0.0f, 1.0e4f}) {
        const auto x = testing::shifted(plain, offset);
        const auto want = reference_layer_norm(x, w, b);
        Tensor<float, 2> got(x.shape());
        testing::poison(got.view());
        ops::layer_norm(cpu, got.view(), x.view(), w.view(), b.view(), kEps);
        INFO("rows " << rows << " width " << width << " offset " << offset);
        REQUIRE(testing::relative_l2(got.view(), want.view()) < 1e-6);
        auto in_place = testing::copy_of(x);
        ops::layer_norm(cpu, in_place.view(), in_place.view(), w.view(), b.view(), kEps);
        REQUIRE(testing::relative_l2(in_place.view(), want.view()) < 1e-6);
      }
    }
  }
}

TEST_CASE("cpu layer_norm reads and writes row-strided views", "[layer_norm]") {
  Context<backend::cpu> cpu;
  Context<backend::reference> ref;
  const auto x = testing::random_tensor(Extents<2>{9, 40}, 11, -2, 2);
  const auto w = testing::random_tensor(Extents<1>{33}, 12);
  const auto b = testing::random_tensor(Extents<1>{33}, 13);
  Tensor<float, 2> want_full(Extents<2>{9, 40}, 0.0f);
  Tensor<float, 2> got_full(Extents<2>{9, 40}, 0.0f);
  testing::poison(got_full.view());
  ops::layer_norm(ref, want_full.view().slice(1, 4, 37), x.view().slice(1, 4, 37), w.view(), b.view(), kEps);
  ops::layer_norm(cpu, got_full.view().slice(1, 4, 37), x.view().slice(1, 4, 37), w.view(), b.view(), kEps);
  REQUIRE(testing::relative_l2(got_full.view().slice(1, 4, 37), want_full.view().slice(1, 4, 37)) < 1e-6);
  REQUIRE(std::isnan(got_full(0, 3)));  // columns outside the view are untouched
  REQUIRE(std::isnan(got_full(8, 37)));
}

TEST_CASE("layer_norm rejects bad arguments", "[layer_norm]") {
  Context<backend::cpu> cpu;
  Tensor<float, 2> x(Extents<2>{4, 8}, 1.0f);
  Tensor<float, 2> y(Extents<2>{4, 9});
  Tensor<float, 1> w(Extents<1>{8}, 1.0f);
  Tensor<float, 1> w_bad(Extents<1>{7}, 1.0f);
  REQUIRE_THROWS_WITH(ops::layer_norm(cpu, y.view(), x.view(), w.view(), w.view(), kEps),
                      Catch::Contains("ops::layer_norm") && Catch::Contains("[4, 9]") && Catch::Contains("[4, 8]"));
  REQUIRE_THROWS_WITH(ops::layer_norm(cpu, x.view(), x.view(), w_bad.view(), w.view(), kEps),
                      Catch::Contains("weight has shape [7], expected [8]"));
  REQUIRE_THROWS_WITH(ops::layer_norm(cpu, x.view(), x.view(), w.view(), w_bad.view(), kEps),
                      Catch::Contains("bias has shape [7], expected [8]"));
  REQUIRE_THROWS_WITH(ops::layer_norm(cpu, x.view(), x.view(), w.view(), w.view(), -1.0f),
                      Catch::Contains("eps must be >= 0"));
  Tensor<float, 2> square(Extents<2>{8, 8}, 1.0f);
  REQUIRE_THROWS_WITH(ops::layer_norm(cpu, square.view(), square.view().transpose(0, 1), w.view(), w.view(), kEps),
                      Catch::Contains("x must have unit stride in its last dimension"));
  const CView<float, 1> strided_w(square.data(), Extents<1>{8}, Extents<1>{8});
  REQUIRE_THROWS_WITH(ops::layer_norm(cpu, square.view(), square.view(), strided_w, w.view(), kEps),
                      Catch::Contains("weight must have unit stride"));
}

TEST_CASE("layer_norm of zero rows is a no-op", "[layer_norm]") {
  Context<backend::cpu> cpu;
  Context<backend::reference> ref;
  Tensor<float, 2> none(Extents<2>{0, 8});
  Tensor<float, 1> w(Extents<1>{8}, 1.0f);
  ops::layer_norm(cpu, none.view(), none.view(), w.view(), w.view(), kEps);
  ops::layer_norm(ref, none.view(), none.view(), w.view(), w.view(), kEps);
}
