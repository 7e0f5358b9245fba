// pixel_shuffle: v2 against transformers' InternVLModel.pixel_shuffle; v1 as the transpose of v2's
// token order (facts §4.3); the cpu backend against the reference at the chat shape (32x32 grid).
#include <catch2/catch.hpp>

#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

TEST_CASE("pixel shuffle v2 matches transformers, v1 transposes the token grid", "[pixel_shuffle]") {
  const auto in = io::read_npy_f32<3>(testing::golden_path("ops/core/pixel_shuffle_in.npy"));
  const auto expected = io::read_npy_f32<3>(testing::golden_path("ops/core/pixel_shuffle_v2.npy"));
  Context<backend::reference> ctx;
  Tensor<float, 3> v2(expected.shape());
  Tensor<float, 3> v1(expected.shape());
  ops::pixel_shuffle(ctx, v2.view(), in.view(), ops::PixelShuffleVersion::v2);
  ops::pixel_shuffle(ctx, v1.view(), in.view(), ops::PixelShuffleVersion::v1);
  REQUIRE(testing::relative_l2(v2.view(), expected.view()) == 0.0);
  for (index_t b = 0; b < 2; ++b)
    for (index_t r = 0; r < 3; ++r)
      for (index_t c = 0; c < 3; ++c)
        for (index_t ch = 0; ch < 20; ++ch) REQUIRE(v1(b, c * 3 + r, ch) == v2(b, r * 3 + c, ch));
}

TEST_CASE("cpu pixel shuffle equals the reference", "[pixel_shuffle]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  for (const auto& [batch, grid, channels] : {std::tuple<index_t, index_t, index_t>{2, 32, 64}, {1, 2, 3}, {3, 6, 17}}) {
    const auto in = testing::random_tensor(Extents<3>{batch, grid * grid, channels}, 3);
    for (auto version : {ops::PixelShuffleVersion::v1, ops::PixelShuffleVersion::v2}) {
      Tensor<float, 3> want(Extents<3>{batch, grid * grid / 4, 4 * channels});
      Tensor<float, 3> got(want.shape());
      testing::poison(got.view());
      ops::pixel_shuffle(ref, want.view(), in.view(), version);
      ops::pixel_shuffle(cpu, got.view(), in.view(), version);
      REQUIRE(testing::relative_l2(got.view(), want.view()) == 0.0);
    }
  }
  Tensor<float, 3> odd(Extents<3>{1, 25, 4}, 0.0f);
  Tensor<float, 3> out(Extents<3>{1, 6, 16});
  REQUIRE_THROWS_WITH(ops::pixel_shuffle(cpu, out.view(), odd.view(), ops::PixelShuffleVersion::v2),
                      Catch::Contains("square grid of even side"));
}
