// InternVL 1.5+ dynamic resolution (`dynamic_preprocess`, facts 4.2): an image of aspect w/h becomes a grid of
// S×S tiles (columns i, rows j, min_tiles ≤ i·j ≤ max_tiles) plus, when there is more than one tile, a
// thumbnail of the whole image.
//   choice: scan grids by ascending i·j keeping the one with the smallest |w/h − i/j|; an exact tie goes to the
//           later (larger) grid only if the image area w·h > 0.5·S²·i·j.
//   pixels: Pillow bicubic resize to (S·i, S·j), tiles cut row-major (tile k: column k mod i, row k div i),
//           thumbnail = resize of the original to (S, S), last; each tile normalised with ImageNet statistics.
// Output: the grid and [n, 3, S, S] with n = i·j (+1 with the thumbnail).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "internvl/core/error.hpp"
#include "internvl/io/image.hpp"
#include "internvl/io/normalize.hpp"
#include "internvl/io/resize_bicubic.hpp"

namespace internvl::io {

struct TileGrid {
  index_t columns = 1;
  index_t rows = 1;

  index_t count() const { return columns * rows; }
  bool operator==(const TileGrid&) const = default;
};

struct TilingOptions {
  index_t tile_size = 448;  // S
  index_t min_tiles = 1;
  index_t max_tiles = 12;   // 12 for InternVL-Chat-V1-5 and the model cards; evaluation scripts use 6
  bool use_thumbnail = true;
  PillowPassOrder order = PillowPassOrder::horizontal_first;
};

// Every grid with min_tiles ≤ columns·rows ≤ max_tiles, by ascending tile count, then by columns. (The
// official code orders grids of one count as a Python set iterates them. With min_tiles = 1 that order
// never changes the choice; above 1 it can, which choose_tile_grid refuses to guess.)
inline std::vector<TileGrid> candidate_grids(index_t min_tiles, index_t max_tiles) {
  INTERNVL_CHECK(min_tiles >= 1 && min_tiles <= max_tiles, "io::candidate_grids",
                 "need 1 <= min_tiles <= max_tiles, got min_tiles ", min_tiles, ", max_tiles ", max_tiles);
  std::vector<TileGrid> grids;
  for (index_t i = 1; i <= max_tiles; ++i) {
    for (index_t j = 1; i * j <= max_tiles; ++j) {
      if (i * j >= min_tiles) {
        grids.push_back({i, j});
      }
    }
  }
  std::stable_sort(grids.begin(), grids.end(), [](const TileGrid& a, const TileGrid& b) { return a.count() < b.count(); });
  return grids;
}

// The grid dynamic_preprocess picks for an image of this size.
inline TileGrid choose_tile_grid(ImageSize image, const TilingOptions& options) {
  INTERNVL_CHECK(image.width > 0 && image.height > 0, "io::choose_tile_grid", "image has zero size ", image);
  INTERNVL_CHECK(options.tile_size > 0, "io::choose_tile_grid", "tile_size must be positive, got ",
                 options.tile_size);
  const double aspect = static_cast<double>(image.width) / static_cast<double>(image.height);
  const auto area = static_cast<double>(image.width * image.height);
  const auto s = static_cast<double>(options.tile_size);
  const auto scan = [&](const std::vector<TileGrid>& grids) {
    double best_diff = std::numeric_limits<double>::infinity();
    TileGrid best{1, 1};
    for (const TileGrid& g : grids) {
      const double diff = std::fabs(aspect - static_cast<double>(g.columns) / static_cast<double>(g.rows));
      if (diff < best_diff) {
        best_diff = diff;
        best = g;
      } else if (diff == best_diff &&
                 area > 0.5 * s * s * static_cast<double>(g.columns) * static_cast<double>(g.rows)) {
        best = g;
      }
    }
    return best;
  };
  std::vector<TileGrid> grids = candidate_grids(options.min_tiles, options.max_tiles);
  const TileGrid best = scan(grids);
  std::stable_sort(grids.begin(), grids.end(), [](const TileGrid& a, const TileGrid& b) {
    return a.count() < b.count() || (a.count() == b.count() && a.columns > b.columns);
  });
  const TileGrid other = scan(grids);  // grids of one count the other way round
  INTERNVL_CHECK(other == best, "io::choose_tile_grid", "with min_tiles ", options.min_tiles, " the grids ",
                 best.columns, "x", best.rows, " and ", other.columns, "x", other.rows, " tie for a ", image,
                 " image, and the official dynamic_preprocess breaks such a tie by the order of a Python set, ",
                 "which is not reproduced here; min_tiles 1 (every official setting) has no such ties");
  return best;
}

// The 8-bit tiles, row-major, then the thumbnail when there is more than one tile and use_thumbnail.
inline std::vector<Image> cut_tiles(ImageView image, TileGrid grid, const TilingOptions& options) {
  const index_t s = options.tile_size;
  const Image resized = resize_bicubic_pillow(image, s * grid.columns, s * grid.rows, options.order);
  std::vector<Image> tiles;
  for (index_t k = 0; k < grid.count(); ++k) {
    const index_t col = k % grid.columns;
    const index_t row = k / grid.columns;
    tiles.push_back(copy_image(resized.view().slice(0, row * s, (row + 1) * s).slice(1, col * s, (col + 1) * s)));
  }
  if (options.use_thumbnail && grid.count() > 1) {
    tiles.push_back(resize_bicubic_pillow(image, s, s, options.order));
  }
  return tiles;
}

struct TiledImage {
  TileGrid grid;
  Tensor<float, 4> pixels;  // [n, 3, S, S]
};

inline TiledImage tile_image(ImageView image, const TilingOptions& options = {}) {
  const TileGrid grid = choose_tile_grid(size_of(image), options);
  const std::vector<Image> tiles = cut_tiles(image, grid, options);
  const index_t s = options.tile_size;
  TiledImage out{grid, Tensor<float, 4>(Extents<4>{static_cast<index_t>(tiles.size()), 3, s, s})};
  for (std::size_t k = 0; k < tiles.size(); ++k) {
    normalize_to_chw(out.pixels.view()[static_cast<index_t>(k)], tiles[k].view(), imagenet_normalization());
  }
  return out;
}

// Reads an image file and tiles it: the model input of InternVL-Chat for one image.
inline TiledImage load_tiles(const std::string& path, const TilingOptions& options = {}) {
  return preprocess_file(path, [&](ImageView image) { return tile_image(image, options); });
}

}  // namespace internvl::io
