// InternVL-C / InternVL-G embeddings of images and texts, L2-normalised, written as float32 .npy files.
//   embed --model DIR [--mode C|G] [--image FILE]... [--images LIST] | [--pixels FILE.npy] [--frames N]
//         [--text "..."]... | [--texts FILE] [--out-image FILE.npy] [--out-text FILE.npy]
//         [--batch N] [--report] [--backend reference|cpu|cuda] [--precision f32|bf16] [--profile]
// Images ([B, E]: the --image files in argument order, then those of --images LIST, one per line) go
// through the retrieval pipeline (facts §4.1: a bicubic squash to S × S, no crop). With --frames N they are
// videos' frames, N per video in a row, preprocessed and averaged as the official video retrieval does
// (video_retrieval/test_msrvtt.py: transformers' CLIPImageProcessor, io::Pipeline::clip_processor; each
// video's embedding the normalised mean of its frames' image features): [B / N, E]. Texts ([T, E], in
// argument order, or a file's lines: row i is line i + 1) get QLLaMA's "summarize:" prefix and are
// tokenized with the model directory's tokenizer.model. Both go through the model --batch at a time, and
// image files are decoded when their batch comes (support/image_batches.hpp), so a retrieval set of
// thousands of images and captions needs one pass's activations and pixels. Every image path is checked
// before the model loads. The text embedding is the same in both modes, and on the cpu backend no
// embedding depends on --batch. The dot product of an image row and a text row is their cosine similarity
// (scale it by the model's exp(logit_scale) for its logits). --report prints the wall time of each stage
// and the resident memory (support/stage_report.hpp: weight pages read from the memory-mapped checkpoint
// count) to stderr, with the parameter count of the loaded tensors. --backend cuda (GPU 0, bf16) exists when the build
// has CUDA; its code is in tasks_cuda.cu (support/internvl_tasks.hpp is shared by every backend).
// --precision bf16 runs the cpu backend's matrix products on bf16 operands with f32 sums
// (support/backend.hpp: f32 only on reference, bf16 only on cuda).
#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"
#include "internvl/models/load_internvl.hpp"
#include "internvl/text/utf8.hpp"
#include "support/image_batches.hpp"
#include "support/inputs.hpp"
#include "support/internvl_tasks.hpp"
#include "support/outputs.hpp"
#include "support/text_file.hpp"

using namespace internvl;

namespace {

constexpr const char* kUsage =
    "usage: embed --model DIR [--mode C|G] [--image FILE]... [--images LIST] | [--pixels FILE.npy] [--frames N]\n"
    "             [--text \"...\"]... | [--texts FILE] [--out-image FILE.npy] [--out-text FILE.npy]\n"
    "             [--batch N] [--report] [--backend reference|cpu|cuda] [--precision f32|bf16] [--profile]\n"
    "  --model DIR         InternVL model directory (config.json, model*.safetensors, tokenizer.model)\n"
    "  --mode C|G          image embeddings of InternVL-C or InternVL-G; default C\n"
    "  --image FILE        an image file (repeatable); squashed to the model's size (retrieval pipeline)\n"
    "  --images LIST       a file naming image files, one per line (with or instead of --image)\n"
    "  --pixels FILE.npy   normalised pixels [B, 3, H, W] (or [3, H, W]) instead of image files\n"
    "  --frames N          the images are videos' frames, N per video in a row (the official video retrieval:\n"
    "                      shorter side to the model's size and a centre crop, as transformers'\n"
    "                      CLIPImageProcessor; each video the normalised mean of its frames' features)\n"
    "  --text TEXT         a text (repeatable)\n"
    "  --texts FILE        the texts, one per line (UTF-8), instead of --text\n"
    "  --out-image FILE    where to write the image embeddings, float32 [B, E] (with --frames N: [B / N, E])\n"
    "  --out-text FILE     where to write the text embeddings, float32 [T, E]\n"
    "  --batch N           images or texts per forward pass (default 16; with --frames, whole videos: at\n"
    "                      least one)\n"
    "  --report            print the time of each stage and the resident memory to stderr\n"
    "  --backend NAME      reference, cpu (default) or cuda (GPU 0, bf16; CUDA builds only)\n"
    "  --precision P       the matrix products on cpu: f32 (default) or bf16 (bf16 operands, f32 sums; faster\n"
    "                      on CPUs with AVX512-BF16 or AMX); reference is f32 only, cuda bf16 only\n"
    "  --profile           with --backend cpu: where the time went, op by op, on stderr at the end\n";

void write(const std::string& path, const Tensor<float, 2>& embeddings, const std::string& what) {
  io::write_npy(path, embeddings.view());
  std::printf("%s embeddings [%lld, %lld] -> %s\n", what.c_str(), static_cast<long long>(embeddings.size(0)),
              static_cast<long long>(embeddings.size(1)), path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const examples::Cli cli(argc, argv, kUsage,
                          {"--model", "--mode", "--image", "--images", "--pixels", "--frames", "--text", "--texts",
                           "--out-image", "--out-text", "--batch", "--backend", "--precision"},
                          {"--report", "--profile"});
  const std::string dir = cli.require("--model");
  const models::EmbeddingMode mode = examples::embedding_mode(cli);
  const examples::BackendChoice backend = examples::backend_choice(cli);
  const bool images = cli.has("--image") || cli.has("--images") || cli.has("--pixels");
  const bool texts = cli.has("--text") || cli.has("--texts");
  if (!images && !texts) {
    cli.fail("nothing to embed: give --image, --images, --pixels, --text or --texts");
  }
  if (images) {
    examples::check_image_input(cli);
  }
  if (cli.has("--text") && cli.has("--texts")) {
    cli.fail("give --text or --texts, not both");
  }
  const std::vector<std::string> given_texts = cli.all("--text");
  for (std::size_t i = 0; i < given_texts.size(); ++i) {
    if (const std::optional<std::size_t> bad = text::first_ill_formed_utf8(given_texts[i])) {
      cli.fail("--text number " + std::to_string(i + 1) + " is not UTF-8 text (byte " + std::to_string(*bad + 1) +
               " starts no well-formed UTF-8 sequence)");
    }
  }
  const int batch = cli.positive("--batch", 16);
  const int frames = cli.has("--frames") ? cli.positive("--frames", 1) : 0;
  if (frames > 0 && !images) {
    cli.fail("--frames needs the videos' frames: --image, --images or --pixels");
  }
  if (images != cli.has("--out-image")) {
    cli.fail(images ? "images need --out-image" : "--out-image needs --image, --images or --pixels");
  }
  if (texts != cli.has("--out-text")) {
    cli.fail(texts ? "texts need --out-text" : "--out-text needs --text or --texts");
  }
  return examples::run_reporting_errors([&] {
    examples::check_outputs(cli, examples::output_options(cli, {"--out-image", "--out-text"}),
                            examples::image_paths(cli));
    examples::StageReport report(cli.has("--report"));
    examples::InternVLJob job;
    job.dir = std::make_shared<const io::ModelDir>(dir);
    job.config = models::read_internvl_config(*job.dir);
    job.mode = mode;
    job.frames_per_video = frames;
    std::optional<examples::ImageBatches> image_batches;
    if (images) {
      const io::Pipeline pipeline = frames > 0 ? io::Pipeline::clip_processor : io::Pipeline::retrieval;
      const int images_per_pass = frames > 0 ? frames * std::max(1, batch / frames) : batch;
      image_batches.emplace(cli, pipeline, job.config.image_size(), images_per_pass);
      INTERNVL_CHECK(image_batches->count() % std::max(frames, 1) == 0, "--frames", image_batches->count(),
                     " images are not a whole number of videos of ", frames, " frames");
    }
    const auto batches = [&] { return image_batches ? image_batches->batches() : examples::PixelBatches(); };
    job.texts = cli.has("--texts") ? examples::read_lines(*cli.get("--texts"), "texts file") : cli.all("--text");
    INTERNVL_CHECK(!texts || !job.texts.empty(), *cli.get("--texts"), "the texts file holds no line");
    job.batch = batch;
    job.report = &report;
    report.stage("read inputs");
    const examples::Embeddings result = examples::on_backend(
        cli, backend, [&]<class Backend>(Context<Backend>& ctx) { return examples::embed(ctx, job, batches()); },
        [&] { return examples::embed_cuda(job, batches()); });
    if (images) {
      write(*cli.get("--out-image"), result.images, frames > 0 ? "video" : "image");
    }
    if (texts) {
      write(*cli.get("--out-text"), result.texts, "text");
    }
  });
}
