// Zero-shot image captioning with InternVL-G (models/captioning.hpp): QLLaMA continues a prompt after
// the image's 96 queries, by beam search.
//   caption --model DIR (--image FILE ... | --images LIST | --pixels FILE.npy) [--prompt TEXT] [--beams K]
//           [--max-new-tokens N] [--min-new-tokens N] [--length-penalty X] [--batch N] [--tokens] [--report]
//           [--backend reference|cpu|cuda] [--precision f32|bf16] [--profile]
// DIR is an InternVL-C/G model directory with QLLaMA's lm_head (config.json, safetensors, tokenizer.model),
// e.g. InternVL-14B-224px. The defaults are the paper's zero-shot captioning protocol
// (internvl_g/eval/evaluate_caption.py: images resized to S×S bicubic without a crop, the prompt
// "English caption:", 5 beams, 8 to 30 new tokens, length penalty 1), under which InternVL-G scores
// CIDEr 128.2 on COCO Karpathy test, 79.2 on Flickr30K and 113.7 on NoCaps val. Prints one caption per
// line (a line break inside one is printed as a space), each image's after a header "# <image>" when
// there are several; --tokens adds a line "tokens <ids...> score <s>" after each. --report, --backend,
// --precision and --profile are as in zero_shot.
#include <algorithm>
#include <cstdio>
#include <string>

#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"
#include "internvl/models/load_internvl.hpp"
#include "support/image_batches.hpp"
#include "support/inputs.hpp"
#include "support/internvl_tasks.hpp"

using namespace internvl;

namespace {

constexpr const char* kUsage =
    "usage: caption --model DIR (--image FILE [--image FILE ...] | --images LIST | --pixels FILE.npy)\n"
    "               [--prompt TEXT] [--beams K] [--max-new-tokens N] [--min-new-tokens N] [--length-penalty X]\n"
    "               [--batch N] [--tokens] [--report] [--backend reference|cpu|cuda] [--precision f32|bf16]\n"
    "               [--profile]\n"
    "  --model DIR          InternVL-C/G model directory (config.json, model*.safetensors, tokenizer.model)\n"
    "  --image FILE         an image file (PNG, JPEG, PPM), resized to the model's size without a crop\n"
    "                       (repeat for several images)\n"
    "  --images LIST        a file naming image files, one per line (with or instead of --image)\n"
    "  --pixels FILE.npy    normalised pixels [3, H, W] or [B, 3, H, W] instead of image files\n"
    "  --prompt TEXT        the text every caption continues (default \"English caption:\")\n"
    "  --beams K            beams of the search (default 5; 1 is greedy decoding)\n"
    "  --max-new-tokens N   the most tokens a caption has (default 30)\n"
    "  --min-new-tokens N   the fewest tokens a caption has: the end token is banned before (default 8)\n"
    "  --length-penalty X   a finished caption scores its log-probability / length^X (default 1)\n"
    "  --batch N            images per forward pass (default 8)\n"
    "  --tokens             after each caption, a line \"tokens <ids...> score <s>\"\n"
    "  --report             print the time of each stage and the resident memory to stderr\n"
    "  --backend NAME       reference, cpu (default) or cuda (GPU 0, bf16; CUDA builds only)\n"
    "  --precision P        the matrix products on cpu: f32 (default) or bf16 (bf16 operands, f32 sums;\n"
    "                       faster on CPUs with AVX512-BF16, the decoding steps too)\n"
    "  --profile            with --backend cpu: where the time went, op by op, on stderr at the end\n"
    "Prints one caption per line; with several images, each follows a header line \"# <image>\".\n";

}  // namespace

int main(int argc, char** argv) {
  const examples::Cli cli(argc, argv, kUsage,
                          {"--model", "--image", "--images", "--pixels", "--prompt", "--beams", "--max-new-tokens",
                           "--min-new-tokens", "--length-penalty", "--batch", "--backend", "--precision"},
                          {"--tokens", "--report", "--profile"});
  const std::string dir = cli.require("--model");
  examples::check_image_input(cli);
  models::BeamSearchOptions search;
  search.num_beams = cli.positive("--beams", 5);
  search.max_new_tokens = cli.positive("--max-new-tokens", 30);
  search.min_new_tokens = cli.integer("--min-new-tokens", 8);
  if (search.min_new_tokens < 0 || search.min_new_tokens > search.max_new_tokens) {
    cli.fail("--min-new-tokens must lie in [0, --max-new-tokens = " + std::to_string(search.max_new_tokens) +
             "], got " + std::to_string(search.min_new_tokens));
  }
  search.length_penalty = static_cast<float>(cli.real("--length-penalty", 1.0));
  const std::string prompt = cli.get("--prompt").value_or("English caption:");
  if (const std::optional<std::size_t> bad = text::first_ill_formed_utf8(prompt)) {
    cli.fail("--prompt is not UTF-8 text (byte " + std::to_string(*bad + 1) + " starts no well-formed UTF-8 sequence)");
  }
  const int batch_size = cli.positive("--batch", 8);
  const examples::BackendChoice backend = examples::backend_choice(cli);
  return examples::run_reporting_errors([&] {
    examples::StageReport report(cli.has("--report"));
    examples::InternVLJob job;
    job.dir = std::make_shared<const io::ModelDir>(dir);
    job.config = models::read_internvl_config(*job.dir);
    job.prompt = prompt;
    job.search = search;
    job.report = &report;
    examples::ImageBatches images(cli, io::Pipeline::retrieval, job.config.image_size(), batch_size);
    report.stage("read inputs");
    index_t printed = 0;
    const examples::CaptionSink print = [&](const std::vector<examples::Caption>& captions) {
      for (const examples::Caption& caption : captions) {
        images.print_header(printed++);
        std::string line = caption.text;  // one line per caption
        std::replace_if(
            line.begin(), line.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
        std::printf("%s\n", line.c_str());
        if (cli.has("--tokens")) {
          std::printf("tokens");
          for (const std::int32_t id : caption.tokens) {
            std::printf(" %d", static_cast<int>(id));
          }
          std::printf(" score %.9g\n", caption.score);
        }
      }
      std::fflush(stdout);
    };
    examples::on_backend(
        cli, backend,
        [&]<class Backend>(Context<Backend>& ctx) { examples::caption(ctx, job, images.batches(), print); },
        [&] { examples::caption_cuda(job, images.batches(), print); });
  });
}
