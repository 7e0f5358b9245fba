// Zero-shot classification with InternVL-C or InternVL-G: an image against a list of labels.
//   zero_shot --model DIR (--image FILE | --pixels FILE.npy) --labels "a,b,c" [--mode C|G] [--templates FILE]
//             [--report] [--backend reference|cpu|cuda] [--precision f32|bf16] [--profile]
// DIR is an InternVL model directory (config.json, safetensors, tokenizer.model), e.g. InternVL-14B-224px.
// The image goes through the zero-shot pipeline (facts §4.1: shorter side to S bicubic, centre crop S).
// Each label is put into every template ("{c}" marks where; one template per line of FILE; default
// "a photo of a {c}."), the class weights are the normalised mean of the normalised text embeddings, and
// the probabilities are the softmax of exp(logit_scale) · cosine similarity. Prints label<TAB>probability,
// one per line, most probable first. --report prints stage times and resident memory to stderr (as embed
// does); --backend cuda (GPU 0, bf16) exists when the build has CUDA (tasks_cuda.cu). --precision bf16
// runs the cpu backend's matrix products on bf16 operands with f32 sums (support/backend.hpp: f32 only
// on reference, bf16 only on cuda).
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>

#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"
#include "internvl/models/load_internvl.hpp"
#include "support/inputs.hpp"
#include "support/internvl_tasks.hpp"
#include "support/text_file.hpp"

using namespace internvl;

namespace {

constexpr const char* kUsage =
    "usage: zero_shot --model DIR (--image FILE | --pixels FILE.npy) --labels \"a,b,c\" [--mode C|G] [--templates "
    "FILE]\n"
    "                 [--report] [--backend reference|cpu|cuda] [--precision f32|bf16] [--profile]\n"
    "  --model DIR        InternVL model directory (config.json, model*.safetensors, tokenizer.model)\n"
    "  --image FILE       image file (PNG, JPEG, PPM); resized and centre-cropped to the model's size\n"
    "  --pixels FILE.npy  normalised pixels [3, H, W] or [1, 3, H, W] instead of an image file\n"
    "  --labels LIST      comma-separated class names\n"
    "  --mode C|G         InternVL-C (vision tokens pooled) or InternVL-G (+ QLLaMA's queries); default C\n"
    "  --templates FILE   prompt templates, one per line (UTF-8), {c} marks the label; default \"a photo of a {c}.\"\n"
    "  --report           print the time of each stage and the resident memory to stderr\n"
    "  --backend NAME     reference, cpu (default) or cuda (GPU 0, bf16; CUDA builds only)\n"
    "  --precision P      the matrix products on cpu: f32 (default) or bf16 (bf16 operands, f32 sums; faster\n"
    "                     on CPUs with AVX512-BF16 or AMX); reference is f32 only, cuda bf16 only\n"
    "  --profile          with --backend cpu: where the time went, op by op, on stderr at the end\n"
    "Prints label<TAB>probability, most probable first.\n";

std::vector<std::string> split_labels(const examples::Cli& cli) {
  const std::string list = cli.require("--labels");
  if (const std::optional<std::size_t> bad = text::first_ill_formed_utf8(list)) {
    cli.fail("--labels is not UTF-8 text (byte " + std::to_string(*bad + 1) + " starts no well-formed UTF-8 sequence)");
  }
  std::vector<std::string> labels;
  std::stringstream in(list);
  for (std::string label; std::getline(in, label, ',');) {
    if (label.empty()) {
      cli.fail("--labels has an empty label");
    }
    labels.push_back(label);
  }
  if (!list.empty() && list.back() == ',') {  // getline drops the empty field after a trailing comma
    cli.fail("--labels has an empty label");
  }
  if (labels.empty()) {
    cli.fail("--labels has no label");
  }
  return labels;
}

std::vector<std::string> read_templates(const examples::Cli& cli) {
  const auto path = cli.get("--templates");
  if (!path) {
    return {"a photo of a {c}."};
  }
  std::vector<std::string> templates;
  std::size_t line_number = 0;
  for (std::string& line : examples::read_lines(*path, "templates file")) {
    ++line_number;
    if (!line.empty()) {
      models::check_template(line, *path + ":" + std::to_string(line_number));
      templates.push_back(std::move(line));
    }
  }
  INTERNVL_CHECK(!templates.empty(), *path, "the templates file has no template");
  return templates;
}

}  // namespace

int main(int argc, char** argv) {
  const examples::Cli cli(
      argc, argv, kUsage,
      {"--model", "--image", "--pixels", "--labels", "--mode", "--templates", "--backend", "--precision"},
      {"--report", "--profile"});
  const std::string dir = cli.require("--model");
  const std::vector<std::string> labels = split_labels(cli);
  const models::EmbeddingMode mode = examples::embedding_mode(cli);
  const examples::BackendChoice backend = examples::backend_choice(cli);
  if (cli.has("--image") == cli.has("--pixels")) {
    cli.fail("give exactly one of --image and --pixels");
  }
  if (cli.all("--image").size() > 1) {
    cli.fail("zero_shot classifies one image; give --image once");
  }
  return examples::run_reporting_errors([&] {
    examples::StageReport report(cli.has("--report"));
    examples::InternVLJob job;
    job.dir = std::make_shared<const io::ModelDir>(dir);
    job.config = models::read_internvl_config(*job.dir);
    job.mode = mode;
    job.texts = labels;
    job.templates = read_templates(cli);
    const Tensor<float, 4> pixels = examples::read_pixels(cli, io::Pipeline::classification, job.config.image_size());
    INTERNVL_CHECK(pixels.size(0) == 1, "zero_shot", "--pixels holds ", pixels.size(0), " images; give one");
    job.pixels = pixels.view();
    job.report = &report;
    report.stage("read inputs");
    const Tensor<float, 2> probabilities = examples::on_backend(
        cli, backend, [&]<class Backend>(Context<Backend>& ctx) { return examples::zero_shot(ctx, job); },
        [&] { return examples::zero_shot_cuda(job); });
    std::vector<std::size_t> order(labels.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return probabilities(0, static_cast<index_t>(a)) > probabilities(0, static_cast<index_t>(b));
    });
    for (const std::size_t c : order) {
      std::printf("%s\t%.6g\n", labels[c].c_str(), static_cast<double>(probabilities(0, static_cast<index_t>(c))));
    }
  });
}
