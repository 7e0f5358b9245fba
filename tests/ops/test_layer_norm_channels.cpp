// layer_norm_channels: the reference against PyTorch (F.layer_norm over the channels of the
// channels-last permutation), the cpu backend against the reference over the channel maps (plain,
// large offsets, in place), and argument errors.
#include <catch2/catch.hpp>

#include "grid.hpp"
#include "internvl/backend/cpu/layer_norm_channels.hpp"
#include "internvl/backend/reference/layer_norm_channels.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

constexpr float kEps = 1e-6f;

}  // namespace

TEST_CASE("reference and cpu layer_norm_channels match PyTorch", "[layer_norm_channels]") {
  const auto x = io::read_npy_f32<4>(testing::golden_path("ops/eltwise/layer_norm_channels_x.npy"));
  const auto w = io::read_npy_f32<1>(testing::golden_path("ops/eltwise/layer_norm_channels_w.npy"));
  const auto b = io::read_npy_f32<1>(testing::golden_path("ops/eltwise/layer_norm_channels_b.npy"));
  const auto expected = io::read_npy_f32<4>(testing::golden_path("ops/eltwise/layer_norm_channels_y.npy"));
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  Tensor<float, 4> y(x.shape());
  ops::layer_norm_channels(ref, y.view(), x.view(), w.view(), b.view(), kEps);
  REQUIRE(testing::relative_l2(y.view(), expected.view()) < 1e-6);
  testing::poison(y.view());
  ops::layer_norm_channels(cpu, y.view(), x.view(), w.view(), b.view(), kEps);
  for (index_t n = 0; n < x.size(0); ++n) {  // image 1 carries a large offset
    INFO("image " << n);
    REQUIRE(testing::relative_l2(y.view()[n], expected.view()[n]) < 1e-6);
  }
}

TEST_CASE("cpu layer_norm_channels matches the reference on channel maps", "[layer_norm_channels]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  const auto maps = testing::channel_maps();
  std::vector<Extents<4>> shapes(maps.begin(), maps.end());
  shapes.push_back({3, 17, 5, 7});  // 35 pixels: full and partial vectors of pixels
  shapes.push_back({2, 1, 4, 4});   // one channel: y = b
  shapes.push_back({1, 64, 1, 1});  // one pixel
  for (const Extents<4>& shape : shapes) {
    const auto w = testing::random_tensor(Extents<1>{shape[1]}, 3);
    const auto b = testing::random_tensor(Extents<1>{shape[1]}, 4);
    const auto plain = testing::random_tensor(shape, 31, -4, 4);
    for (float offset : {0.0f, 1.0e4f}) {
      INFO("shape " << shape_string(shape) << " offset " << offset);
      const auto x = testing::shifted(plain, offset);
      Tensor<float, 4> want(shape);
      Tensor<float, 4> got(shape);
      testing::poison(got.view());
      ops::layer_norm_channels(ref, want.view(), x.view(), w.view(), b.view(), kEps);
      ops::layer_norm_channels(cpu, got.view(), x.view(), w.view(), b.view(), kEps);
      REQUIRE(testing::relative_l2(got.view(), want.view()) < 1e-6);
      auto in_place = testing::copy_of(x);
      ops::layer_norm_channels(cpu, in_place.view(), in_place.view(), w.view(), b.view(), kEps);
      REQUIRE(testing::relative_l2(in_place.view(), want.view()) < 1e-6);
    }
  }
}

TEST_CASE("cpu layer_norm_channels handles images that are strided apart", "[layer_norm_channels]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  const auto x = testing::random_tensor(Extents<4>{2, 24, 3, 5}, 41, -2, 2);
  const auto w = testing::random_tensor(Extents<1>{9}, 5);
  const auto b = testing::random_tensor(Extents<1>{9}, 6);
  // Channels 10..18 of each image: planes are dense, channels and images are strided.
  Tensor<float, 4> want(x.shape(), 0.0f);
  Tensor<float, 4> got(x.shape());
  testing::poison(got.view());
  ops::layer_norm_channels(ref, want.view().slice(1, 10, 19), x.view().slice(1, 10, 19), w.view(), b.view(), kEps);
  ops::layer_norm_channels(cpu, got.view().slice(1, 10, 19), x.view().slice(1, 10, 19), w.view(), b.view(), kEps);
  REQUIRE(testing::relative_l2(got.view().slice(1, 10, 19), want.view().slice(1, 10, 19)) < 1e-6);
  REQUIRE(std::isnan(got(0, 9, 2, 4)));
  REQUIRE(std::isnan(got(1, 19, 0, 0)));
}

TEST_CASE("layer_norm_channels rejects bad arguments", "[layer_norm_channels]") {
  Context<backend::cpu> cpu;
  Tensor<float, 4> x(Extents<4>{1, 6, 4, 4}, 1.0f);
  Tensor<float, 4> y_bad(Extents<4>{1, 6, 4, 5});
  Tensor<float, 1> w(Extents<1>{6}, 1.0f);
  Tensor<float, 1> w_bad(Extents<1>{4}, 1.0f);
  REQUIRE_THROWS_WITH(ops::layer_norm_channels(cpu, y_bad.view(), x.view(), w.view(), w.view(), kEps),
                      Catch::Contains("ops::layer_norm_channels") && Catch::Contains("[1, 6, 4, 5]"));
  REQUIRE_THROWS_WITH(ops::layer_norm_channels(cpu, x.view(), x.view(), w_bad.view(), w.view(), kEps),
                      Catch::Contains("weight has shape [4], expected [6]"));
  REQUIRE_THROWS_WITH(ops::layer_norm_channels(cpu, x.view(), x.view(), w.view(), w_bad.view(), kEps),
                      Catch::Contains("bias has shape [4], expected [6]"));
  REQUIRE_THROWS_WITH(ops::layer_norm_channels(cpu, x.view(), x.view(), w.view(), w.view(), -kEps),
                      Catch::Contains("eps must be >= 0"));
  REQUIRE_THROWS_WITH(ops::layer_norm_channels(cpu, x.view(), x.view().transpose(2, 3), w.view(), w.view(), kEps),
                      Catch::Contains("x must have a dense H×W plane per channel"));
}
