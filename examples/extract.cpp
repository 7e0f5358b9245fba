// extract: InternViT features of an image, or of pixels already normalised, written as a .npy file.
//
//   build/examples/extract --model DIR (--image FILE | --pixels FILE.npy) [--layer K] [--max-tiles N]
//                          [--projector] [--out FILE.npy] [--backend reference|cpu]
//
// --image: the classification preprocessing at the model's image size (shorter side resized with
// Pillow's bicubic, centre crop, ImageNet normalisation), or with --max-tiles N InternVL 1.5's dynamic
// tiling into up to N tiles plus a thumbnail. --pixels: float32 [B, 3, H, W], used as given.
// Output: float32 [B, tokens, hidden] of hidden state K (0 = embeddings, K = block K, negative from the
// end; default -1), or with --projector the chat model's visual tokens [B, tokens/4, llm width] taken
// from its select_layer. Stage times go to stderr.
#include <chrono>
#include <cstdio>
#include <optional>

#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"
#include "internvl/backend/transfer.hpp"
#include "internvl/io/npy.hpp"
#include "internvl/io/preprocess.hpp"
#include "internvl/io/tiling.hpp"
#include "internvl/models/chat_projector.hpp"
#include "internvl/models/load_intern_vit.hpp"
#include "support/cli.hpp"

using namespace internvl;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kUsage =
    "usage: extract --model DIR (--image FILE | --pixels FILE.npy) [--layer K] [--max-tiles N]\n"
    "               [--projector] [--out FILE.npy] [--backend reference|cpu]\n"
    "  Writes InternViT hidden state K (default -1, the last block) of the image as float32\n"
    "  [B, tokens, hidden], or the chat projector's visual tokens with --projector.\n";

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

Tensor<float, 4> input_pixels(const examples::Cli& cli, const config::VisionConfig& c) {
  if (cli.one_of("--image", "--pixels") == "--pixels") {
    return io::read_npy_f32<4>(cli.require("--pixels"));
  }
  const std::string image = cli.require("--image");
  if (cli.has("--max-tiles")) {
    const int max_tiles = cli.integer("--max-tiles", 12);
    if (max_tiles < 1) {
      cli.fail("--max-tiles must be at least 1");
    }
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

template <class Backend>
int run(const examples::Cli& cli) {
  using T = default_activation_t<Backend>;
  const auto start = Clock::now();
  auto dir = std::make_shared<const io::ModelDir>(cli.require("--model"));
  const config::VisionConfig c = models::read_vision_config(*dir);
  std::optional<models::ChatProjector<Backend, T>> projector;
  if (cli.has("--projector")) {
    projector = models::ChatProjector<Backend, T>::load(dir);
  }
  const int layer = cli.integer("--layer", projector ? projector->select_layer() : -1);

  const auto preprocess_start = Clock::now();
  const Tensor<float, 4> pixels = input_pixels(cli, c);
  const double preprocess_ms = ms_since(preprocess_start);

  Context<Backend> ctx;
  Tensor<float, 3> result;
  double encoder_ms = 0.0;
  models::visit_intern_vit<Backend, T>(dir, c, [&]<class Model>(Model& model) {
    std::fprintf(stderr, "model: %s (%s)\n", std::string(Model::preset_type::name).c_str(),
                 Model::is_compiled ? "compiled preset" : "runtime-shaped: no compiled preset matches config.json");
    const auto encoder_start = Clock::now();
    const int wanted[] = {layer};
    model.forward(ctx, to_backend<T>(ctx, pixels.view()), wanted, [&](int, CView<T, 3> hidden) {
      if (!projector) {
        result = to_host(ctx, hidden);
        return;
      }
      auto scope = ctx.workspace().scope();
      View<T, 3> tokens = ctx.workspace().template tensor<T>(
          Extents<3>{hidden.size(0), (hidden.size(1) - 1) / 4, projector->output_width()});
      projector->forward(ctx, tokens, hidden);
      result = to_host(ctx, CView<T, 3>(tokens));
    });
    encoder_ms = ms_since(encoder_start);
  });
  const std::string out = cli.get("--out").value_or("features.npy");
  io::write_npy(out, result.view());
  std::fprintf(stderr, "wrote %s [%lld, %lld, %lld]\npreprocess %.1f ms, encoder %.1f ms, total %.1f ms\n",
               out.c_str(), static_cast<long long>(result.size(0)), static_cast<long long>(result.size(1)),
               static_cast<long long>(result.size(2)), preprocess_ms, encoder_ms, ms_since(start));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const examples::Cli cli(argc, argv, kUsage,
                          {"--model", "--image", "--pixels", "--layer", "--max-tiles", "--out", "--backend"},
                          {"--projector"});
  try {
    const std::string backend = cli.get("--backend").value_or("cpu");
    if (backend == "cpu") {
      return run<backend::cpu>(cli);
    }
    if (backend == "reference") {
      return run<backend::reference>(cli);
    }
    cli.fail("unknown backend '" + backend + "' (reference, cpu)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
