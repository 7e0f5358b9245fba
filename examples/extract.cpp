// extract: InternViT features of an image, or of pixels already normalised, written as a .npy file.
//
//   build/examples/extract --model DIR (--image FILE | --pixels FILE.npy) [--layer K] [--max-tiles N]
//                          [--projector] [--out FILE.npy] [--backend reference|cpu|cuda]
//                          [--precision f32|bf16] [--profile]
//
// --image: the classification preprocessing at the model's image size (shorter side resized with
// Pillow's bicubic, centre crop, ImageNet normalisation), or with --max-tiles N InternVL 1.5's dynamic
// tiling into up to N tiles plus a thumbnail. --pixels: float [3, H, W] or [B, 3, H, W], used as given.
// Output: float32 [B, tokens, hidden] of hidden state K (0 = embeddings, K = block K, negative from the
// end; default -1), or with --projector the chat model's visual tokens [B, tokens/4, llm width] taken
// from its select_layer. Stage times go to stderr. --backend cuda (GPU 0, bf16) exists when the build has
// CUDA; its code is in tasks_cuda.cu (support/extract_features.hpp is shared by every backend).
// --precision bf16 runs the cpu backend's matrix products on bf16 operands with f32 sums, about twice as
// fast on CPUs with AVX512-BF16 (support/backend.hpp: f32 only on reference, bf16 only on cuda).
// --profile (cpu backend): a table of where the forward pass's time went, op by op, with the products'
// GFLOP/s (core/op_profile.hpp), on stderr before the stage times.
#include <chrono>
#include <cstdio>
#include <optional>

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
#include "support/pixels_file.hpp"

using namespace internvl;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kUsage =
    "usage: extract --model DIR (--image FILE | --pixels FILE.npy) [--layer K] [--max-tiles N]\n"
    "               [--projector] [--out FILE.npy] [--backend reference|cpu|cuda] [--precision f32|bf16]\n"
    "               [--profile]\n"
    "  Writes InternViT hidden state K (default -1, the last block) of the image as float32\n"
    "  [B, tokens, hidden], or the chat projector's visual tokens with --projector.\n"
    "  --precision: the matrix products on cpu, f32 (default) or bf16 (bf16 operands, f32 sums; faster on\n"
    "  CPUs with AVX512-BF16 or AMX); reference is f32 only, cuda bf16 only.\n"
    "  --profile: with --backend cpu, the forward pass's time op by op (stderr).\n";

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

Tensor<float, 4> input_pixels(const examples::Cli& cli, const config::VisionConfig& c) {
  if (cli.one_of("--image", "--pixels") == "--pixels") {
    return examples::read_pixel_batch(cli.require("--pixels"));
  }
  const std::string image = cli.require("--image");
  if (cli.has("--max-tiles")) {
    const int max_tiles = cli.positive("--max-tiles", 12);
    io::TilingOptions options;
    options.tile_size = c.image_size;
    options.max_tiles = max_tiles;
    io::TiledImage tiles = io::load_tiles(image, options);
    std::fprintf(stderr, "tiling: %lld x %lld grid, %lld tiles\n", static_cast<long long>(tiles.grid.columns),
                 static_cast<long long>(tiles.grid.rows), static_cast<long long>(tiles.pixels.size(0)));
    return std::move(tiles.pixels);
  }
  return io::load_batch({image}, io::Pipeline::classification, c.image_size);
}

int run(const examples::Cli& cli, const examples::BackendChoice& backend) {
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
  const Tensor<float, 4> pixels = input_pixels(cli, request.config);
  request.pixels = pixels.view();
  const double preprocess_ms = ms_since(preprocess_start);

  const examples::ExtractResult result = examples::on_backend(
      cli, backend, [&]<class Backend>(Context<Backend>& ctx) { return examples::extract_features(ctx, request); },
      [&] { return examples::extract_features_cuda(request); });
  io::write_npy(out, result.features.view());
  std::fprintf(stderr, "wrote %s [%lld, %lld, %lld]\npreprocess %.1f ms, encoder %.1f ms, total %.1f ms\n",
               out.c_str(), static_cast<long long>(result.features.size(0)),
               static_cast<long long>(result.features.size(1)), static_cast<long long>(result.features.size(2)),
               preprocess_ms, result.encoder_ms, ms_since(start));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const examples::Cli cli(
      argc, argv, kUsage,
      {"--model", "--image", "--pixels", "--layer", "--max-tiles", "--out", "--backend", "--precision"},
      {"--projector", "--profile"});
  const examples::BackendChoice backend = examples::backend_choice(cli);
  return examples::run_reporting_errors([&] { return run(cli, backend); });
}
