// InternVL-C / InternVL-G embeddings of images and texts, L2-normalised, written as float32 .npy files.
//   embed --model DIR [--mode C|G] [--image FILE]... | [--pixels FILE.npy] [--text "..."]...
//         [--out-image FILE.npy] [--out-text FILE.npy] [--report]
// Images ([B, E], in argument order) go through the retrieval pipeline (facts §4.1: a bicubic squash to
// S × S, no crop); texts ([T, E], in argument order) get QLLaMA's "summarize:" prefix and are tokenized
// with the model directory's tokenizer.model. The text embedding is the same in both modes. The dot
// product of an image row and a text row is their cosine similarity (scale it by the model's
// exp(logit_scale) for its logits). --report prints the wall time of each stage and the peak resident
// memory (core/memory.hpp: weight pages read from the memory-mapped checkpoint count) to stderr, with
// the parameter count of the loaded tensors.
#include <chrono>
#include <cstdio>

#include "internvl/backend/cpu/all.hpp"
#include "internvl/core/memory.hpp"
#include "internvl/models/load_internvl.hpp"
#include "internvl/text/tokenizer.hpp"
#include "support/inputs.hpp"

using namespace internvl;

namespace {

constexpr const char* kUsage =
    "usage: embed --model DIR [--mode C|G] [--image FILE]... | [--pixels FILE.npy] [--text \"...\"]...\n"
    "             [--out-image FILE.npy] [--out-text FILE.npy]\n"
    "  --model DIR         InternVL model directory (config.json, model*.safetensors, tokenizer.model)\n"
    "  --mode C|G          image embeddings of InternVL-C or InternVL-G; default C\n"
    "  --image FILE        an image file (repeatable); squashed to the model's size (retrieval pipeline)\n"
    "  --pixels FILE.npy   normalised pixels [B, 3, H, W] (or [3, H, W]) instead of image files\n"
    "  --text TEXT         a text (repeatable)\n"
    "  --out-image FILE    where to write the image embeddings, float32 [B, E]\n"
    "  --out-text FILE     where to write the text embeddings, float32 [T, E]\n"
    "  --report            print the time of each stage and the peak resident memory to stderr\n";

// Prints "<stage>: <seconds> s, peak RSS <GiB> GiB" to stderr when enabled.
class Report {
 public:
  explicit Report(bool enabled) : enabled_(enabled) {}
  void stage(const char* name) {
    const auto now = std::chrono::steady_clock::now();
    if (enabled_) {
      std::fprintf(stderr, "%s: %.2f s, peak RSS %.2f GiB\n", name, std::chrono::duration<double>(now - last_).count(),
                   static_cast<double>(peak_rss_bytes()) / (1u << 30));
    }
    last_ = now;
  }

 private:
  bool enabled_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace

int main(int argc, char** argv) {
  const examples::Cli cli(argc, argv, kUsage,
                          {"--model", "--mode", "--image", "--pixels", "--text", "--out-image", "--out-text"},
                          {"--report"});
  const std::string dir = cli.require("--model");
  const models::EmbeddingMode mode = examples::embedding_mode(cli);
  const bool images = cli.has("--image") || cli.has("--pixels");
  const bool texts = cli.has("--text");
  if (!images && !texts) {
    cli.fail("nothing to embed: give --image, --pixels or --text");
  }
  if (images != cli.has("--out-image")) {
    cli.fail(images ? "images need --out-image" : "--out-image needs --image or --pixels");
  }
  if (texts != cli.has("--out-text")) {
    cli.fail(texts ? "texts need --out-text" : "--out-text needs --text");
  }
  return examples::run_reporting_errors([&] {
    Report report(cli.has("--report"));
    models::with_internvl<backend::cpu>(dir, [&](auto& model) {
      report.stage("load");
      if (cli.has("--report")) {
        std::fprintf(stderr, "parameters: %lld counted from the tensors, %lld from config.json\n",
                     static_cast<long long>(model.parameter_count()),
                     static_cast<long long>(model.config().parameter_count()));
      }
      Context<backend::cpu> ctx;
      if (images) {
        const auto pixels = examples::read_pixels(cli, io::Pipeline::retrieval, model.config().image_size());
        Tensor<float, 2> out(Extents<2>{pixels.size(0), model.embedding_width()});
        model.image_embeddings(ctx, out.view(), pixels.view(), mode);
        report.stage(mode == models::EmbeddingMode::C ? "images (InternVL-C)" : "images (InternVL-G)");
        io::write_npy(*cli.get("--out-image"), out.view());
        std::printf("image embeddings [%lld, %lld] -> %s\n", static_cast<long long>(out.size(0)),
                    static_cast<long long>(out.size(1)), cli.get("--out-image")->c_str());
      }
      if (texts) {
        const text::Tokenizer tokenizer(model.tokenizer_path().string());
        const text::TokenizedBatch batch = tokenizer.format(cli.all("--text"));
        Tensor<float, 2> out(Extents<2>{batch.ids.size(0), model.embedding_width()});
        model.text_embeddings(ctx, out.view(), batch.ids.view());
        report.stage("texts");
        io::write_npy(*cli.get("--out-text"), out.view());
        std::printf("text embeddings [%lld, %lld] -> %s\n", static_cast<long long>(out.size(0)),
                    static_cast<long long>(out.size(1)), cli.get("--out-text")->c_str());
      }
    });
  });
}
