// extract: InternViT features of images, or of pixels already normalised, written as .npy files.
//
//   build/examples/extract --model DIR (--image FILE ... | --images LIST | --pixels FILE.npy) [--layer K]
//                          [--max-tiles N] [--projector] [--pool cls|mean] [--batch N]
//                          [--out FILE.npy | --out-dir DIR]
//                          [--backend reference|cpu|cuda] [--precision f32|bf16] [--profile]
//
// --image (repeatable) and --images LIST (one file per line): the classification preprocessing at the
// model's image size (shorter side resized with Pillow's bicubic, centre crop, ImageNet normalisation),
// each file decoded when its batch comes (support/image_batches.hpp); or with --max-tiles N InternVL 1.5's
// dynamic tiling of each image into up to N tiles plus a thumbnail, one image's tiles a pass. --pixels:
// float [3, H, W] or [B, 3, H, W], used as given. The model is loaded once; whole images go through it
// --batch at a time.
// Output: float32 [B, tokens, hidden] of hidden state K (0 = embeddings, K = block K, negative from the
// end; default -1), or with --projector the chat model's visual tokens [B, tokens/4, llm width] taken
// from its select_layer; with --pool, one vector per image [B, hidden]: the class token (cls) or the mean
// of the patch tokens (mean), the two pooled features of the paper's evaluations, so that a set of
// thousands of images fits in memory. B counts the images, or the tiles of one image. All of it goes to
// --out (default features.npy), or with --out-dir each image's own rows (its tiles with --max-tiles) to
// DIR/<stem>.npy as soon as they are computed: tiles of several images, whose counts differ, need it.
// Stage times go to stderr. --backend cuda (GPU 0, bf16) exists when
// the build has CUDA; its code is in tasks_cuda.cu (support/extract_features.hpp is shared by every
// backend). --precision bf16 runs the cpu backend's matrix products on bf16 operands with f32 sums, about
// twice as fast on CPUs with AVX512-BF16 (support/backend.hpp: f32 only on reference, bf16 only on cuda).
// --profile (cpu backend): a table of where the forward passes' time went, op by op, with the products'
// GFLOP/s (core/op_profile.hpp), on stderr before the stage times.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"
#include "internvl/core/memory.hpp"
#include "internvl/io/npy.hpp"
#include "internvl/io/preprocess.hpp"
#include "internvl/io/tiling.hpp"
#include "internvl/io/write_file.hpp"
#include "internvl/models/load_intern_vit.hpp"
#include "support/backend.hpp"
#include "support/cli.hpp"
#include "support/extract_features.hpp"
#include "support/image_batches.hpp"
#include "support/out_dir.hpp"
#include "support/outputs.hpp"

using namespace internvl;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kUsage =
    "usage: extract --model DIR (--image FILE [--image FILE ...] | --images LIST | --pixels FILE.npy)\n"
    "               [--layer K] [--max-tiles N] [--projector] [--pool cls|mean] [--batch N]\n"
    "               [--out FILE.npy | --out-dir DIR] [--backend reference|cpu|cuda] [--precision f32|bf16]\n"
    "               [--profile]\n"
    "  Writes InternViT hidden state K (default -1, the last block) of the images as float32\n"
    "  [B, tokens, hidden] (default features.npy), or the chat projector's visual tokens with --projector.\n"
    "  --images LIST: a file naming image files, one per line (with or instead of --image).\n"
    "  --max-tiles N: each image as InternVL 1.5's tiles (up to N, plus a thumbnail): B = the tiles.\n"
    "  --pool cls|mean: one vector per image or tile, [B, hidden]: the class token, or the mean of the\n"
    "  patch tokens.\n"
    "  --out-dir DIR: each image's features to DIR/<stem>.npy instead (the tiles of several images need it);\n"
    "  DIR is created if missing.\n"
    "  --batch N: images per forward pass (default 16); with --max-tiles a pass is one image's tiles.\n"
    "  --precision: the matrix products on cpu, f32 (default) or bf16 (bf16 operands, f32 sums; faster on\n"
    "  CPUs with AVX512-BF16 or AMX); reference is f32 only, cuda bf16 only.\n"
    "  --profile: with --backend cpu, the forward pass's time op by op (stderr).\n";

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

enum class Pool { none, cls, mean };

Pool pool_option(const examples::Cli& cli) {
  const std::string pool = cli.get("--pool").value_or("none");
  if (pool != "none" && pool != "cls" && pool != "mean") {
    cli.fail("--pool must be cls or mean, got '" + pool + "'");
  }
  if (pool != "none" && cli.has("--projector")) {
    cli.fail("--pool goes with InternViT's hidden states, not with --projector's visual tokens");
  }
  return pool == "cls" ? Pool::cls : pool == "mean" ? Pool::mean : Pool::none;
}

// Where the features go: all of them to --out, or with --out-dir each image's to DIR/<stem>.npy.
struct Output {
  std::string file;                      // --out, or empty
  std::vector<std::string> image_files;  // --out-dir: one per image, in order
};

// `images`: the image files of the command line (none with --pixels).
Output output_option(const examples::Cli& cli, const std::vector<std::string>& images) {
  const bool tiled = cli.has("--max-tiles");
  if (tiled && cli.has("--pixels")) {
    cli.fail("--max-tiles tiles image files (--image, --images), not --pixels");
  }
  if (tiled && cli.has("--batch")) {
    cli.fail("--batch goes with whole images; with --max-tiles each pass is one image's tiles");
  }
  const std::optional<std::string> dir = cli.get("--out-dir");
  if (!dir) {
    if (tiled && images.size() > 1) {
      cli.fail("--max-tiles on several images needs --out-dir (each image's tiles are written there as <stem>.npy)");
    }
    return {.file = cli.get("--out").value_or("features.npy"), .image_files = {}};
  }
  if (cli.has("--out")) {
    cli.fail("give --out or --out-dir, not both");
  }
  if (cli.has("--pixels")) {
    cli.fail("--out-dir names each file after its image: give image files (--image, --images), not --pixels");
  }
  Output output;
  for (const auto& base : examples::stem_paths(cli, "--out-dir", "written as", images, *dir, ".npy")) {
    output.image_files.push_back(base.string() + ".npy");
  }
  examples::make_output_dir("--out-dir", *dir);
  return output;
}

// Rows of features gathered as they come: [rows, tokens, hidden], or pooled to [rows, hidden] (the class
// token; the mean of the patch tokens 1 ..). Where the number of rows is known beforehand (not tiled), the
// first batch reserves exactly that many, refusing (check_memory_for) features that could never fit in
// memory rather than failing after hours of work, and write() writes from the same storage: the process
// holds the features once, where growing by doubling and copying for the file held up to three times as much.
class Features {
 public:
  explicit Features(Pool pool, index_t expected_rows = 0) : pool_(pool), expected_rows_(expected_rows) {}

  // Rows [begin, end) of a batch.
  void add(CView<float, 3> batch, index_t begin, index_t end) {
    tokens_ = batch.size(1);
    width_ = batch.size(2);
    if (values_.empty() && expected_rows_ > 0) {
      const index_t row = pool_ == Pool::none ? tokens_ * width_ : width_;
      const std::string shape = pool_ == Pool::none ? shape_string(Extents<3>{expected_rows_, tokens_, width_})
                                                    : shape_string(Extents<2>{expected_rows_, width_});
      check_memory_for(static_cast<std::size_t>(expected_rows_ * row) * sizeof(float), "--out",
                       "the features " + shape + " in f32",
                       "write a file per image with --out-dir, or one row per image with --pool cls or mean");
      values_.reserve(static_cast<std::size_t>(expected_rows_ * row));
    }
    for (index_t b = begin; b < end; ++b) {
      ++rows_;
      if (pool_ == Pool::none) {
        values_.insert(values_.end(), &batch(b, 0, 0), &batch(b, 0, 0) + tokens_ * width_);
        continue;
      }
      if (pool_ == Pool::cls) {
        values_.insert(values_.end(), &batch(b, 0, 0), &batch(b, 0, 0) + width_);
        continue;
      }
      std::vector<double> sum(static_cast<std::size_t>(width_), 0.0);
      for (index_t t = 1; t < tokens_; ++t) {
        for (index_t e = 0; e < width_; ++e) {
          sum[static_cast<std::size_t>(e)] += batch(b, t, e);
        }
      }
      for (const double s : sum) {
        values_.push_back(static_cast<float>(s / static_cast<double>(tokens_ - 1)));
      }
    }
  }

  void write(const std::string& path) const {
    if (pool_ == Pool::none) {
      io::write_npy(path, CView<float, 3>(values_.data(), Extents<3>{rows_, tokens_, width_}));
    } else {
      io::write_npy(path, CView<float, 2>(values_.data(), Extents<2>{rows_, width_}));
    }
    std::fprintf(stderr, "wrote %s [%lld, %lld%s]\n", path.c_str(), static_cast<long long>(rows_),
                 static_cast<long long>(pool_ == Pool::none ? tokens_ : width_),
                 pool_ == Pool::none ? (", " + std::to_string(width_)).c_str() : "");
  }

 private:
  Pool pool_;
  index_t expected_rows_;
  index_t rows_ = 0, tokens_ = 0, width_ = 0;
  std::vector<float> values_;
};

// The InternVL 1.5 tiles of each image file, one image a batch, tiled when its batch comes.
class TileBatches {
 public:
  TileBatches(std::vector<std::string> images, io::TilingOptions options)
      : images_(std::move(images)), options_(options) {
    examples::check_image_files(images_);
  }

  TileBatches(const TileBatches&) = delete;  // batches() hands out a source that refers to this object
  TileBatches& operator=(const TileBatches&) = delete;

  examples::PixelBatches batches() {
    return [this]() -> std::optional<CView<float, 4>> {
      if (next_ == images_.size()) {
        return std::nullopt;
      }
      const std::string& image = images_[next_++];
      tiles_ = io::load_tiles(image, options_);
      std::fprintf(stderr, "tiling: %lld x %lld grid, %lld tiles (%s)\n", static_cast<long long>(tiles_.grid.columns),
                   static_cast<long long>(tiles_.grid.rows), static_cast<long long>(tiles_.pixels.size(0)),
                   image.c_str());
      return CView<float, 4>(tiles_.pixels.view());
    };
  }

 private:
  std::vector<std::string> images_;
  io::TilingOptions options_;
  io::TiledImage tiles_;
  std::size_t next_ = 0;
};

int run(const examples::Cli& cli, const examples::BackendChoice& backend, Pool pool, int batch_size) {
  const auto start = Clock::now();
  std::vector<std::string> image_files = examples::image_paths(cli);
  const Output output = output_option(cli, image_files);
  std::vector<examples::OutputFile> files;
  for (const std::string& file : output.image_files) {
    files.push_back({"--out-dir", file});
  }
  if (output.image_files.empty()) {  // one file: --out's, or features.npy
    files.push_back({"--out", output.file});
  }
  examples::check_outputs(cli, files, image_files);
  examples::ExtractRequest request;
  request.dir = std::make_shared<const io::ModelDir>(cli.require("--model"));
  request.config = models::read_vision_config(*request.dir);
  request.projector = cli.has("--projector");
  if (cli.has("--layer")) {
    request.layer = cli.integer("--layer", -1);
  }

  const bool tiled = cli.has("--max-tiles");
  std::optional<examples::ImageBatches> images;
  std::optional<TileBatches> tiles;
  if (tiled) {
    tiles.emplace(std::move(image_files), io::TilingOptions{.tile_size = request.config.image_size,
                                                            .max_tiles = cli.positive("--max-tiles", 12)});
  } else {
    images.emplace(cli, std::move(image_files), io::Pipeline::classification, request.config.image_size, batch_size);
  }
  // The batches, each call's time (image files are decoded and preprocessed when their batch comes)
  // counted in preprocess_ms.
  double preprocess_ms = 0.0;
  const auto batches = [&]() -> examples::PixelBatches {
    return [&preprocess_ms, source = tiled ? tiles->batches() : images->batches()] {
      const auto call_start = Clock::now();
      std::optional<CView<float, 4>> batch = source();
      preprocess_ms += ms_since(call_start);
      return batch;
    };
  };

  // To --out when all are in; with --out-dir, each image's rows (a tiled batch is one image) at once.
  Features features(pool, tiled ? 0 : static_cast<index_t>(images->names().size()));
  std::size_t next_image = 0;
  const examples::FeatureSink gather = [&](CView<float, 3> batch) {
    if (output.image_files.empty()) {
      features.add(batch, 0, batch.size(0));
      return;
    }
    const index_t rows_per_image = tiled ? batch.size(0) : 1;
    for (index_t b = 0; b < batch.size(0); b += rows_per_image) {
      Features image(pool, rows_per_image);
      image.add(batch, b, b + rows_per_image);
      image.write(output.image_files[next_image++]);
    }
  };
  const double encoder_ms = examples::on_backend(
      cli, backend,
      [&]<class Backend>(Context<Backend>& ctx) { return examples::extract_features(ctx, request, batches(), gather); },
      [&] { return examples::extract_features_cuda(request, batches(), gather); });
  if (!output.file.empty()) {
    features.write(output.file);
  }
  std::fprintf(stderr, "preprocess %.1f ms, encoder %.1f ms, total %.1f ms\n", preprocess_ms, encoder_ms,
               ms_since(start));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const examples::Cli cli(argc, argv, kUsage,
                          {"--model", "--image", "--images", "--pixels", "--layer", "--max-tiles", "--pool", "--batch",
                           "--out", "--out-dir", "--backend", "--precision"},
                          {"--projector", "--profile"});
  cli.require("--model");
  examples::check_image_input(cli);
  const Pool pool = pool_option(cli);
  const int batch_size = cli.positive("--batch", 16);
  const examples::BackendChoice backend = examples::backend_choice(cli);
  return examples::run_reporting_errors([&] { return run(cli, backend, pool, batch_size); });
}
