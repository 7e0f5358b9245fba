// InternVL 1.5+ dynamic tiling against dynamic_preprocess run on Pillow + torchvision (tests/golden/image/make.py):
// the grid chosen for hundreds of sizes and aspect ratios (exact ties at the area threshold included) for
// max_num 6 and 12, and the tiles' pixels and normalised tensors.
#include <catch2/catch.hpp>

#include <iostream>

#include "internvl/io/tiling.hpp"
#include "pixel_fixtures.hpp"

using namespace internvl;
using testing::image_manifest;

TEST_CASE("candidate grids: every i·j within [min, max], by ascending count", "[tiling]") {
  REQUIRE(io::candidate_grids(1, 6).size() == 14);
  REQUIRE(io::candidate_grids(1, 12).size() == 35);
  const std::vector<io::TileGrid> grids = io::candidate_grids(2, 12);
  REQUIRE(grids.size() == 34);
  for (std::size_t k = 1; k < grids.size(); ++k) REQUIRE(grids[k - 1].count() <= grids[k].count());
  REQUIRE(grids.front().count() == 2);
  REQUIRE_THROWS_WITH(io::candidate_grids(3, 2), Catch::Contains("need 1 <= min_tiles <= max_tiles"));
  REQUIRE_THROWS_WITH(io::candidate_grids(0, 2), Catch::Contains("min_tiles 0"));
}

TEST_CASE("chosen grids equal dynamic_preprocess's for every size and setting", "[tiling]") {
  const auto& fixture = image_manifest()["tile_grids"];
  const io::NpyArray sizes = io::read_npy(testing::image_fixture(fixture["sizes"]));
  const io::NpyArray grids = testing::read_u8(fixture["grids"]);
  const auto configs = fixture["configs"];
  const index_t n = sizes.shape[0];
  REQUIRE(grids.shape == std::vector<index_t>{n, static_cast<index_t>(configs.size()), 2});
  index_t checked = 0;
  for (index_t i = 0; i < n; ++i) {
    const io::ImageSize size{static_cast<index_t>(io::npy_element(sizes, 2 * i)),
                             static_cast<index_t>(io::npy_element(sizes, 2 * i + 1))};
    for (std::size_t c = 0; c < configs.size(); ++c) {
      io::TilingOptions options;
      options.min_tiles = configs[c][0];
      options.max_tiles = configs[c][1];
      options.tile_size = configs[c][2];
      const auto at = static_cast<std::size_t>((i * static_cast<index_t>(configs.size()) + static_cast<index_t>(c)) * 2);
      const io::TileGrid expected{static_cast<index_t>(grids.bytes[at]), static_cast<index_t>(grids.bytes[at + 1])};
      INFO("image " << size << ", tiles " << options.min_tiles << ".." << options.max_tiles << ", S " << options.tile_size);
      REQUIRE(io::choose_tile_grid(size, options) == expected);
      ++checked;
    }
  }
  std::cout << "tiling: " << checked << " grid choices identical to dynamic_preprocess\n";
  // min_tiles = max_tiles = 4 at 500×200 (aspect 2.5): 2×2 and 4×1 are both 1.5 away, and the official
  // code takes the one its Python set lists first (4×1 in CPython 3.8+): refused, not guessed.
  io::TilingOptions four;
  four.min_tiles = four.max_tiles = 4;
  REQUIRE_THROWS_WITH(io::choose_tile_grid({500, 200}, four),
                      Catch::Contains("the grids 2x2 and 4x1 tie") && Catch::Contains("Python set"));
}

TEST_CASE("tiles and their tensors equal dynamic_preprocess + build_transform", "[tiling]") {
  for (const auto& c : image_manifest()["tiling"]) {
    io::TilingOptions options;
    options.max_tiles = c["max_tiles"];
    options.tile_size = c["tile_size"];
    options.order = io::PillowPassOrder::pillow13;  // the fixtures ran on Pillow 13
    INFO(c["input"].get<std::string>() << ", max " << options.max_tiles << ", S " << options.tile_size);
    const io::Image input = testing::fixture_input(c["input"]);
    const io::TileGrid grid = io::choose_tile_grid(io::size_of(input.view()), options);
    REQUIRE(grid == io::TileGrid{c["columns"], c["rows"]});

    const std::vector<io::Image> tiles = io::cut_tiles(input.view(), grid, options);
    const index_t s = options.tile_size;
    const auto n = static_cast<index_t>(tiles.size());
    REQUIRE(n == grid.count() + (grid.count() > 1 ? 1 : 0));
    io::Image stacked(Extents<3>{n * s, s, 3});  // [n, S, S, 3] as one buffer
    for (index_t k = 0; k < n; ++k) {
      std::copy(tiles[static_cast<std::size_t>(k)].data(), tiles[static_cast<std::size_t>(k)].data() + s * s * 3,
                stacked.data() + k * s * s * 3);
    }
    const testing::PixelDiff d = testing::compare_pixels(stacked.data(), {n, s, s, 3}, c["tiles"]);
    REQUIRE(d.same_shape);
    REQUIRE(d.max == 0);

    const io::TiledImage tiled = io::tile_image(input.view(), options);
    REQUIRE(tiled.grid == grid);
    REQUIRE(tiled.pixels.shape() == Extents<4>{n, 3, s, s});
    REQUIRE(testing::sum_of(tiled.pixels) == Approx(c["tensor_sum"].get<double>()).epsilon(1e-9).margin(1e-4));
    if (c.contains("tensor")) {
      REQUIRE(testing::max_abs_diff(tiled.pixels, c["tensor"]) <= 1e-6);
    }
  }
}

TEST_CASE("a single-tile grid has no thumbnail; use_thumbnail = false drops it", "[tiling]") {
  const io::Image input = testing::fixture_input("square_64x64");
  io::TilingOptions options;
  options.tile_size = 64;
  const io::TiledImage one = io::tile_image(input.view(), options);  // 64x64 at S = 64: area below 2x2's threshold
  REQUIRE(one.grid == io::TileGrid{1, 1});
  REQUIRE(one.pixels.size(0) == 1);
  options.tile_size = 16;
  options.use_thumbnail = false;
  const io::TiledImage many = io::tile_image(input.view(), options);
  REQUIRE(many.pixels.size(0) == many.grid.count());
  REQUIRE(many.grid.count() > 1);
}

TEST_CASE("load_tiles reads a file; bad options are errors", "[tiling]") {
  io::TilingOptions options;
  options.tile_size = 16;
  options.max_tiles = 6;
  const io::TiledImage tiled = io::load_tiles(testing::image_fixture("rgb8.png"), options);
  const io::TiledImage direct = io::tile_image(io::read_image(testing::image_fixture("rgb8.png")).view(), options);
  REQUIRE(tiled.grid == direct.grid);
  REQUIRE(testing::relative_l2(tiled.pixels.view(), direct.pixels.view()) == 0.0);
  options.tile_size = 0;
  REQUIRE_THROWS_WITH(io::choose_tile_grid({10, 10}, options), Catch::Contains("tile_size must be positive"));
  REQUIRE_THROWS_WITH(io::load_tiles(testing::image_fixture("rgb8.png"), options),
                      Catch::Contains("rgb8.png") && Catch::Contains("tile_size must be positive"));
  REQUIRE_THROWS_WITH(io::load_tiles(testing::image_fixture("nope.png")), Catch::Contains("no such file"));
}
