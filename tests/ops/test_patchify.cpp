// patchify: patchify + linear equals PyTorch's stride-P Conv2d (the patch embedding); the cpu backend
// equals the reference on real image sizes; shapes that are not whole patches are errors.
#include <catch2/catch.hpp>

#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

TEST_CASE("patchify + linear is PyTorch's patch-embedding convolution", "[patchify]") {
  const auto x = io::read_npy_f32<4>(testing::golden_path("ops/core/patch_x.npy"));
  const auto w = io::read_npy_f32<4>(testing::golden_path("ops/core/patch_w.npy"));
  const auto b = io::read_npy_f32<1>(testing::golden_path("ops/core/patch_b.npy"));
  const auto expected = io::read_npy_f32<3>(testing::golden_path("ops/core/patch_tokens.npy"));
  Context<backend::reference> ctx;
  Tensor<float, 3> patches(Extents<3>{2, 6, 3 * 14 * 14});
  ops::patchify(ctx, patches.view(), x.view(), 14);
  Tensor<float, 3> tokens(Extents<3>{2, 6, 5});
  ops::linear(ctx, tokens.view().reshape(Extents<2>{12, 5}), patches.view().reshape(Extents<2>{12, 588}),
              w.view().reshape(Extents<2>{5, 588}), b.view());
  REQUIRE(testing::relative_l2(tokens.view(), expected.view()) < 1e-6);
}

TEST_CASE("cpu patchify equals the reference", "[patchify]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  for (const auto& [batch, side_h, side_w, p] : {std::tuple<index_t, index_t, index_t, index_t>{1, 224, 224, 14},
                                                  {2, 448, 448, 14}, {3, 28, 70, 14}, {1, 5, 10, 5}, {2, 3, 3, 1}}) {
    const auto x = testing::random_tensor(Extents<4>{batch, 3, side_h, side_w}, 11);
    Tensor<float, 3> want(Extents<3>{batch, side_h / p * (side_w / p), 3 * p * p});
    Tensor<float, 3> got(want.shape());
    testing::poison(got.view());
    ops::patchify(ref, want.view(), x.view(), p);
    ops::patchify(cpu, got.view(), x.view(), p);
    REQUIRE(testing::relative_l2(got.view(), want.view()) == 0.0);
  }
}

TEST_CASE("patchify rejects images that are not whole patches", "[patchify]") {
  Context<backend::cpu> cpu;
  Tensor<float, 4> x(Extents<4>{1, 3, 30, 28}, 0.0f);
  Tensor<float, 3> out(Extents<3>{1, 4, 588});
  REQUIRE_THROWS_WITH(ops::patchify(cpu, out.view(), x.view(), 14), Catch::Contains("30x28 pixels is not a whole number of 14x14"));
}
