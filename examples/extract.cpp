// extract: InternViT features of images, or of pixels already normalised, written as a .npy file.
//
//   build/examples/extract --model DIR (--image FILE ... | --images LIST | --pixels FILE.npy) [--layer K]
//                          [--max-tiles N] [--projector] [--pool cls|mean] [--batch N] [--out FILE.npy]
//                          [--backend reference|cpu|cuda] [--precision f32|bf16] [--profile]
//
// --image (repeatable) and --images LIST (one file per line): the classification preprocessing at the
// model's image size (shorter side resized with Pillow's bicubic, centre crop, ImageNet normalisation),
// each file decoded when its batch comes (support/image_batches.hpp); or, for one image, with --max-tiles N
// InternVL 1.5's dynamic tiling into up to N tiles plus a thumbnail. --pixels: float [3, H, W] or
// [B, 3, H, W], used as given. The model is loaded once; the images go through it --batch at a time.
// Output: float32 [B, tokens, hidden] of hidden state K (0 = embeddings, K = block K, negative from the
// end; default -1), or with --projector the chat model's visual tokens [B, tokens/4, llm width] taken
// from its select_layer; with --pool, one vector per image [B, hidden]: the class token (cls) or the mean
// of the patch tokens (mean), the two pooled features of the paper's evaluations, so that a set of
// thousands of images fits in memory. Stage times go to stderr. --backend cuda (GPU 0, bf16) exists when
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
#include "internvl/io/npy.hpp"
#include "internvl/io/preprocess.hpp"
#include "internvl/io/tiling.hpp"
#include "internvl/io/write_file.hpp"
#include "internvl/models/load_intern_vit.hpp"
#include "support/backend.hpp"
#include "support/cli.hpp"
#include "support/extract_features.hpp"
#include "support/image_batches.hpp"

using namespace internvl;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kUsage =
    "usage: extract --model DIR (--image FILE [--image FILE ...] | --images LIST | --pixels FILE.npy)\n"
    "               [--layer K] [--max-tiles N] [--projector] [--pool cls|mean] [--batch N] [--out FILE.npy]\n"
    "               [--backend reference|cpu|cuda] [--precision f32|bf16] [--profile]\n"
    "  Writes InternViT hidden state K (default -1, the last block) of the images as float32\n"
    "  [B, tokens, hidden] (default features.npy), or the chat projector's visual tokens with --projector.\n"
    "  --images LIST: a file naming image files, one per line (with or instead of --image).\n"
    "  --max-tiles N: one image as InternVL 1.5's tiles (up to N, plus a thumbnail): B = the tiles.\n"
    "  --pool cls|mean: one vector per image, [B, hidden]: the class token, or the mean of the patch tokens.\n"
    "  --batch N: images per forward pass (default 16).\n"
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

// The features of the images, gathered batch by batch: [B, tokens, hidden] as they come, or pooled to
// [B, hidden] (the class token; the mean of the patch tokens 1 ..).
class Features {
 public:
  explicit Features(Pool pool) : pool_(pool) {}

  void add(CView<float, 3> batch) {
    tokens_ = batch.size(1);
    width_ = batch.size(2);
    for (index_t b = 0; b < batch.size(0); ++b) {
      ++images_;
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
      Tensor<float, 3> out(Extents<3>{images_, tokens_, width_});
      std::copy(values_.begin(), values_.end(), out.data());
      io::write_npy(path, out.view());
    } else {
      Tensor<float, 2> out(Extents<2>{images_, width_});
      std::copy(values_.begin(), values_.end(), out.data());
      io::write_npy(path, out.view());
    }
    std::fprintf(stderr, "wrote %s [%lld, %lld%s]\n", path.c_str(), static_cast<long long>(images_),
                 static_cast<long long>(pool_ == Pool::none ? tokens_ : width_),
                 pool_ == Pool::none ? (", " + std::to_string(width_)).c_str() : "");
  }

 private:
  Pool pool_;
  index_t images_ = 0, tokens_ = 0, width_ = 0;
  std::vector<float> values_;
};

// One image's InternVL 1.5 tiles, as one batch.
Tensor<float, 4> tiles_of(const examples::Cli& cli, const config::VisionConfig& c) {
  const std::vector<std::string> images = examples::image_paths(cli);
  if (cli.has("--pixels") || images.size() != 1) {
    cli.fail("--max-tiles tiles one image file (--image FILE)");
  }
  io::TilingOptions options;
  options.tile_size = c.image_size;
  options.max_tiles = cli.positive("--max-tiles", 12);
  io::TiledImage tiles = io::load_tiles(images[0], options);
  std::fprintf(stderr, "tiling: %lld x %lld grid, %lld tiles\n", static_cast<long long>(tiles.grid.columns),
               static_cast<long long>(tiles.grid.rows), static_cast<long long>(tiles.pixels.size(0)));
  return std::move(tiles.pixels);
}

int run(const examples::Cli& cli, const examples::BackendChoice& backend, Pool pool, int batch_size) {
  const auto start = Clock::now();
  const std::string out = cli.get("--out").value_or("features.npy");
  io::check_can_create(out);
  examples::ExtractRequest request;
  request.dir = std::make_shared<const io::ModelDir>(cli.require("--model"));
  request.config = models::read_vision_config(*request.dir);
  request.projector = cli.has("--projector");
  if (cli.has("--layer")) {
    request.layer = cli.integer("--layer", -1);
  }

  const auto preprocess_start = Clock::now();
  std::optional<examples::ImageBatches> images;
  Tensor<float, 4> tiles;
  if (cli.has("--max-tiles")) {
    tiles = tiles_of(cli, request.config);
  } else {
    images.emplace(cli, io::Pipeline::classification, request.config.image_size, batch_size);
  }
  double preprocess_ms = ms_since(preprocess_start);
  // The batches, each call's time (image files are decoded and preprocessed when their batch comes)
  // counted in preprocess_ms.
  const auto batches = [&]() -> examples::PixelBatches {
    examples::PixelBatches source = [&, given = false]() mutable -> std::optional<CView<float, 4>> {
      return std::exchange(given, true) ? std::nullopt : std::optional(CView<float, 4>(tiles.view()));
    };
    if (images) {
      source = images->batches();
    }
    return [&preprocess_ms, source = std::move(source)] {
      const auto call_start = Clock::now();
      std::optional<CView<float, 4>> batch = source();
      preprocess_ms += ms_since(call_start);
      return batch;
    };
  };

  Features features(pool);
  const examples::FeatureSink gather = [&](CView<float, 3> batch) { features.add(batch); };
  const double encoder_ms = examples::on_backend(
      cli, backend,
      [&]<class Backend>(Context<Backend>& ctx) { return examples::extract_features(ctx, request, batches(), gather); },
      [&] { return examples::extract_features_cuda(request, batches(), gather); });
  features.write(out);
  std::fprintf(stderr, "preprocess %.1f ms, encoder %.1f ms, total %.1f ms\n", preprocess_ms, encoder_ms,
               ms_since(start));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const examples::Cli cli(argc, argv, kUsage,
                          {"--model", "--image", "--images", "--pixels", "--layer", "--max-tiles", "--pool", "--batch",
                           "--out", "--backend", "--precision"},
                          {"--projector", "--profile"});
  cli.require("--model");
  examples::check_image_input(cli);
  const Pool pool = pool_option(cli);
  const int batch_size = cli.positive("--batch", 16);
  const examples::BackendChoice backend = examples::backend_choice(cli);
  return examples::run_reporting_errors([&] { return run(cli, backend, pool, batch_size); });
}
