// resize: the reference against PyTorch's F.interpolate(align_corners=False) in bilinear and bicubic
// modes (up, down, mixed, identity, the position-embedding grids); the cpu backend against the reference
// at the real shapes (3200-channel embedding grids, 150-class logits to 504x504), awkward and strided
// ones; shape errors.
#include <catch2/catch.hpp>
#include <string>

#include "internvl/backend/cpu/resize.hpp"
#include "internvl/backend/reference/resize.hpp"
#include "internvl/io/npy.hpp"
#include "grid.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

std::string fixture(const std::string& name) { return testing::golden_path("ops/conv/" + name + ".npy"); }

const char* name_of(ops::ResizeMode mode) { return mode == ops::ResizeMode::bilinear ? "bilinear" : "bicubic"; }

// The largest relative L2 error over groups of `group` channels (keeps the comparison's memory small).
double relative_l2_by_channels(CView<float, 4> actual, CView<float, 4> expected, index_t group) {
  double worst = 0.0;
  for (index_t c = 0; c < actual.size(1); c += group) {
    const index_t end = std::min(actual.size(1), c + group);
    worst = std::max(worst, testing::relative_l2(actual.slice(1, c, end), expected.slice(1, c, end)));
  }
  return worst;
}

}  // namespace

TEST_CASE("reference resize matches PyTorch", "[resize]") {
  Context<backend::reference> ctx;
  for (const std::string stem :
       {"resize_6x6_to_13x17", "resize_17x13_to_5x4", "resize_5x9_to_11x4", "resize_4x4_to_4x4",
        "resize_16x16_to_36x36", "resize_32x32_to_24x40", "resize_36x36_to_126x90", "resize_1x3_to_2x7"}) {
    const auto x = io::read_npy_f32<4>(fixture(stem + "_x"));
    for (const auto mode : {ops::ResizeMode::bilinear, ops::ResizeMode::bicubic}) {
      const auto expected = io::read_npy_f32<4>(fixture(stem + "_" + name_of(mode) + "_y"));
      Tensor<float, 4> y(expected.shape());
      testing::poison(y.view());
      ops::resize(ctx, y.view(), x.view(), mode);
      INFO("case " << stem << " " << name_of(mode));
      REQUIRE(testing::relative_l2(y.view(), expected.view()) < 1e-6);
    }
  }
}

TEST_CASE("resize to the same size is the identity", "[resize]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  const auto x = testing::random_tensor(Extents<4>{1, 5, 16, 16}, 61);
  for (const auto mode : {ops::ResizeMode::bilinear, ops::ResizeMode::bicubic}) {
    Tensor<float, 4> y(x.shape());
    ops::resize(ref, y.view(), x.view(), mode);
    REQUIRE(testing::relative_l2(y.view(), x.view()) == 0.0);
    testing::poison(y.view());
    ops::resize(cpu, y.view(), x.view(), mode);
    REQUIRE(testing::relative_l2(y.view(), x.view()) == 0.0);
  }
}

TEST_CASE("cpu resize matches the reference", "[resize]") {
  struct Case {
    Extents<4> x;
    Extents<2> out;
    ops::ResizeMode mode;
  };
  const Case cases[] = {
      {{2, 3, 17, 13}, {5, 4}, ops::ResizeMode::bicubic},         // downsampling, two images
      {{2, 3, 17, 13}, {5, 4}, ops::ResizeMode::bilinear},        // the same, bilinear
      {{1, 2, 1, 1}, {5, 3}, ops::ResizeMode::bicubic},           // a single pixel
      {{1, 2, 1, 1}, {5, 3}, ops::ResizeMode::bilinear},          // the same, bilinear
      {{1, 4, 9, 31}, {1, 33}, ops::ResizeMode::bicubic},         // one output row
      {{3, 1, 7, 2}, {19, 1}, ops::ResizeMode::bilinear},         // one output column
      {{5, 7, 6, 5}, {23, 29}, ops::ResizeMode::bicubic},         // upsampling, more channels than one thread
      {{5, 7, 6, 5}, {23, 29}, ops::ResizeMode::bilinear},        // the same, bilinear
      // InternViT-sized (left out under INTERNVL_TEST_SIZES=small):
      {{1, 3200, 16, 16}, {36, 36}, ops::ResizeMode::bicubic},    // position embeddings, 224px grid -> 504px
      {{1, 3200, 32, 32}, {24, 40}, ops::ResizeMode::bicubic},    // 448px grid -> a 336x560 image
      {{1, 150, 36, 36}, {504, 504}, ops::ResizeMode::bilinear},  // segmentation logits to the crop
  };
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  for (const Case& c : testing::sized(cases, 8)) {
    const auto x = testing::random_tensor(c.x, 71, -3.0f, 3.0f);
    const Extents<4> y_shape{c.x[0], c.x[1], c.out[0], c.out[1]};
    Tensor<float, 4> want(y_shape);
    Tensor<float, 4> got(y_shape);
    testing::poison(got.view());
    ops::resize(ref, want.view(), x.view(), c.mode);
    ops::resize(cpu, got.view(), x.view(), c.mode);
    INFO("x " << shape_string(c.x) << " to " << shape_string(c.out) << " " << name_of(c.mode));
    REQUIRE(relative_l2_by_channels(got.view(), want.view(), 8) < 1e-6);
  }
}

TEST_CASE("cpu resize reads and writes channels-last views", "[resize]") {
  // A position-embedding grid [G·G, D] resized into [Gh·Gw, D] without copies: views [1, D, G, G].
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  const auto grid = testing::random_tensor(Extents<2>{16 * 16, 40}, 81);
  const CView<float, 4> x = grid.view().reshape(Extents<4>{1, 16, 16, 40}).transpose(1, 3).transpose(2, 3);
  for (const auto mode : {ops::ResizeMode::bilinear, ops::ResizeMode::bicubic}) {
    Tensor<float, 4> want(Extents<4>{1, 40, 9, 21});
    ops::resize(ref, want.view(), x, mode);
    Tensor<float, 2> tokens(Extents<2>{9 * 21, 40});
    testing::poison(tokens.view());
    const View<float, 4> y = tokens.view().reshape(Extents<4>{1, 9, 21, 40}).transpose(1, 3).transpose(2, 3);
    ops::resize(cpu, y, x, mode);
    INFO(name_of(mode));
    REQUIRE(testing::relative_l2(y, want.view()) < 1e-6);
  }
}

TEST_CASE("resize rejects bad shapes", "[resize]") {
  Context<backend::cpu> ctx;
  Tensor<float, 4> x(Extents<4>{1, 3, 4, 4}, 1.0f);
  Tensor<float, 4> y_channels(Extents<4>{1, 2, 8, 8});
  REQUIRE_THROWS_WITH(ops::resize(ctx, y_channels.view(), x.view(), ops::ResizeMode::bilinear),
                      Catch::Contains("ops::resize") && Catch::Contains("disagree on batch or channels"));
  Tensor<float, 4> y_empty(Extents<4>{1, 3, 0, 8});
  REQUIRE_THROWS_WITH(ops::resize(ctx, y_empty.view(), x.view(), ops::ResizeMode::bicubic),
                      Catch::Contains("asks for an empty output"));
  Tensor<float, 4> x_empty(Extents<4>{1, 3, 4, 0});
  Tensor<float, 4> y(Extents<4>{1, 3, 8, 8});
  REQUIRE_THROWS_WITH(ops::resize(ctx, y.view(), x_empty.view(), ops::ResizeMode::bicubic),
                      Catch::Contains("has no pixels"));
}
