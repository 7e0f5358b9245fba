// rms_norm: the reference against PyTorch's F.rms_norm, the cpu backend against the reference
// over real and awkward widths, in place included, and shape errors.
#include <catch2/catch.hpp>

#include "internvl/backend/cpu/rms_norm.hpp"
#include "internvl/backend/reference/rms_norm.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

TEST_CASE("reference rms_norm matches PyTorch", "[rms_norm]") {
  const auto x = io::read_npy_f32<2>(testing::golden_path("ops/core/rms_norm_x.npy"));
  const auto w = io::read_npy_f32<1>(testing::golden_path("ops/core/rms_norm_w.npy"));
  const auto expected = io::read_npy_f32<2>(testing::golden_path("ops/core/rms_norm_y.npy"));
  Tensor<float, 2> y(x.shape());
  Context<backend::reference> ctx;
  ops::rms_norm(ctx, y.view(), x.view(), w.view(), 1e-6f);
  REQUIRE(testing::relative_l2(y.view(), expected.view()) < 1e-6);
}

TEST_CASE("cpu rms_norm matches the reference", "[rms_norm]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  for (index_t rows : {1, 3, 257, 1025}) {
    for (index_t width : {1, 3, 17, 64, 1024, 3200, 4096}) {
      const auto x = testing::random_tensor(Extents<2>{rows, width}, static_cast<std::uint64_t>(rows * 7919 + width), -4, 4);
      const auto w = testing::random_tensor(Extents<1>{width}, 5);
      Tensor<float, 2> want(x.shape());
      Tensor<float, 2> got(x.shape());
      testing::poison(got.view());
      ops::rms_norm(ref, want.view(), x.view(), w.view(), 1e-6f);
      ops::rms_norm(cpu, got.view(), x.view(), w.view(), 1e-6f);
      INFO("rows " << rows << " width " << width);
      REQUIRE(testing::relative_l2(got.view(), want.view()) < 1e-6);
      Tensor<float, 2> in_place(x.shape());
      std::copy_n(x.data(), x.numel(), in_place.data());
      ops::rms_norm(cpu, in_place.view(), in_place.view(), w.view(), 1e-6f);
      REQUIRE(testing::relative_l2(in_place.view(), want.view()) < 1e-6);
    }
  }
}

TEST_CASE("rms_norm rejects mismatched shapes", "[rms_norm]") {
  Context<backend::cpu> cpu;
  Tensor<float, 2> x(Extents<2>{4, 8}, 1.0f);
  Tensor<float, 2> y(Extents<2>{4, 9});
  Tensor<float, 1> w(Extents<1>{8}, 1.0f);
  Tensor<float, 1> w_bad(Extents<1>{7}, 1.0f);
  REQUIRE_THROWS_WITH(ops::rms_norm(cpu, y.view(), x.view(), w.view(), 1e-6f),
                      Catch::Contains("ops::rms_norm") && Catch::Contains("[4, 9]"));
  REQUIRE_THROWS_WITH(ops::rms_norm(cpu, x.view(), x.view(), w_bad.view(), 1e-6f),
                      Catch::Contains("weight has shape [7], expected [8]"));
  // The cpu kernel reads the weight as dense floats: every other element of a longer vector is refused,
  // not read as the first eight.
  Tensor<float, 1> w_long(Extents<1>{16}, 1.0f);
  const CView<float, 1> every_other(w_long.data(), Extents<1>{8}, Extents<1>{2});
  REQUIRE_THROWS_WITH(ops::rms_norm(cpu, x.view(), x.view(), every_other, 1e-6f),
                      Catch::Contains("ops::rms_norm") && Catch::Contains("weight"));
  REQUIRE_THROWS_WITH(ops::rms_norm(cpu, x.view(), x.view(), w.view(), -1e-6f), Catch::Contains("eps must be >= 0"));
}
