// The token-layout ops on CUDA against backend::reference: patchify (InternViT's patch embedding input),
// assemble_tokens (class token + positions) and pixel_shuffle (the chat projector's 2×2 merge, v1 and v2,
// reading the patch tokens of a hidden state as a strided view). patchify and pixel_shuffle move values
// unchanged (exact); assemble_tokens rounds one sum (f32 1e-6, bf16 1e-2, f16 5e-3). Outputs are
// poisoned with NaN first.
#include <catch2/catch.hpp>

#include <tuple>

#include "cuda_testing.hpp"
#include "oracle.hpp"

using namespace internvl;
namespace gpu = internvl::cuda;

TEMPLATE_TEST_CASE("cuda patchify matches the reference", "[cuda][patchify]", float, bf16, f16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 700;
  // InternViT at 448 and 224 (P = 14), a non-square image, and a small odd case.
  for (const auto& [batch, channels, height, width, patch] :
       {std::tuple<index_t, index_t, index_t, index_t, index_t>{2, 3, 448, 448, 14}, {3, 3, 224, 224, 14},
        {1, 3, 70, 42, 14}, {2, 2, 15, 10, 5}, {1, 1, 1, 1, 1}}) {
    const auto pixels = testing::rounded_to<TestType>(
        testing::random_tensor(Extents<4>{batch, channels, height, width}, ++seed, -2.0f, 2.0f));
    const auto want = testing::reference_patchify(pixels.view(), patch);
    const auto dpixels = testing::to_device<TestType>(ctx, pixels);
    auto out = testing::poisoned<TestType>(ctx, want.shape());
    ops::patchify(ctx, out.view(), dpixels.view(), patch);
    INFO(testing::type_name<TestType>() << " " << batch << "x" << channels << "x" << height << "x" << width << " P "
                                        << patch);
    REQUIRE(testing::relative_l2(testing::to_host(ctx, out).view(), want.view()) == 0.0);
  }
}

TEMPLATE_TEST_CASE("cuda assemble_tokens matches the reference", "[cuda][assemble_tokens]", float, bf16, f16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 800;
  for (const auto& [batch, patches, width] :
       {std::tuple<index_t, index_t, index_t>{2, 1024, 3200}, {3, 256, 1024}, {1, 15, 64}, {2, 3, 17}, {1, 1, 1}}) {
    const auto tokens =
        testing::rounded_to<TestType>(testing::random_tensor(Extents<3>{batch, patches, width}, ++seed, -2.0f, 2.0f));
    const auto cls = testing::random_tensor(Extents<1>{width}, ++seed, -1.0f, 1.0f);
    const auto pos = testing::random_tensor(Extents<2>{patches + 1, width}, ++seed, -1.0f, 1.0f);
    const auto want = testing::reference_assemble_tokens(tokens.view(), cls.view(), pos.view());
    const auto dtokens = testing::to_device<TestType>(ctx, tokens);
    const auto dcls = gpu::upload(ctx, cls.view());
    const auto dpos = gpu::upload(ctx, pos.view());
    auto x = testing::poisoned<TestType>(ctx, want.shape());
    ops::assemble_tokens(ctx, x.view(), dtokens.view(), dcls.view(), dpos.view());
    INFO(testing::type_name<TestType>() << " " << batch << " x " << patches << " x " << width);
    REQUIRE(testing::relative_l2(testing::to_host(ctx, x).view(), want.view()) < testing::tolerance<TestType>(1e-6));
  }
}

TEMPLATE_TEST_CASE("cuda pixel_shuffle matches the reference on the patch tokens of a hidden state",
                   "[cuda][pixel_shuffle]", float, bf16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 900;
  // InternViT-6B and 300M at 448 (G = 32), a 4×4 grid with an odd channel count.
  for (const auto& [batch, grid, channels] :
       {std::tuple<index_t, index_t, index_t>{2, 32, 3200}, {3, 32, 1024}, {1, 4, 5}, {2, 2, 1}}) {
    for (const auto version : {ops::PixelShuffleVersion::v1, ops::PixelShuffleVersion::v2}) {
      const auto hidden = testing::rounded_to<TestType>(
          testing::random_tensor(Extents<3>{batch, 1 + grid * grid, channels}, ++seed, -2.0f, 2.0f));
      const auto want = testing::reference_pixel_shuffle(hidden.view().slice(1, 1, 1 + grid * grid), version);
      const auto dhidden = testing::to_device<TestType>(ctx, hidden);
      auto out = testing::poisoned<TestType>(ctx, want.shape());
      ops::pixel_shuffle(ctx, out.view(), dhidden.view().slice(1, 1, 1 + grid * grid), version);
      INFO(testing::type_name<TestType>() << " " << batch << " x " << grid << "² x " << channels << " v"
                                          << (version == ops::PixelShuffleVersion::v2 ? 2 : 1));
      REQUIRE(testing::relative_l2(testing::to_host(ctx, out).view(), want.view()) == 0.0);
    }
  }
}

TEST_CASE("cuda token ops reject host memory", "[cuda][patchify]") {
  Context<backend::cuda> ctx;
  const Tensor<float, 4> pixels(Extents<4>{1, 3, 14, 14}, 0.0f);
  gpu::DeviceTensor<float, 3> patches(Extents<3>{1, 1, 588});
  REQUIRE_THROWS_WITH(ops::patchify(ctx, patches.view(), pixels.view(), 14),
                      Catch::Contains("ops::patchify") && Catch::Contains("pixels must point to device memory"));
  const Tensor<float, 3> hidden(Extents<3>{1, 16, 2}, 0.0f);
  gpu::DeviceTensor<float, 3> shuffled(Extents<3>{1, 4, 8});
  REQUIRE_THROWS_WITH(ops::pixel_shuffle(ctx, shuffled.view(), hidden.view(), ops::PixelShuffleVersion::v2),
                      Catch::Contains("ops::pixel_shuffle") && Catch::Contains("in must point to device memory"));
}
