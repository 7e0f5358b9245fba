// Zero-shot classification with InternVL-C or InternVL-G: images against a list of labels.
//   zero_shot --model DIR (--image FILE ... | --images LIST | --pixels FILE.npy) (--labels "a,b,c" |
//             --labels-file FILE) [--mode C|G] [--templates FILE] [--topk K] [--batch N]
//             [--truth FILE | --truth-folders]
//             [--save-class-weights FILE.npy | --class-weights FILE.npy] [--report]
//             [--backend reference|cpu|cuda] [--precision f32|bf16] [--profile]
// DIR is an InternVL model directory (config.json, safetensors, tokenizer.model), e.g. InternVL-14B-224px.
// Images go through the zero-shot pipeline (facts §4.1: shorter side to S bicubic, centre crop S).
// Each label is put into every template ("{c}" marks where; one template per line of FILE; default
// "a photo of a {c}."), the class weights are the normalised mean of the normalised text embeddings, and
// the probabilities are the softmax of exp(logit_scale) · cosine similarity, computed on the host in f32
// from each image's embedding (so that on --backend cuda the ranking is not that of bf16 logits, which tie
// at 1/8 steps), the classes ranked by logit. The class weights are
// computed once (encoding C labels × the templates through QLLaMA: 80,000 texts for ImageNet's protocol),
// and can be saved and given to later runs, on any backend; the images then go through the model --batch at a time
// (support/image_batches.hpp), so an evaluation set of any size needs one batch's memory. Prints label<TAB>probability,
// one per line, most probable first (--topk of them), each image's lines after a header "# <image>" when there are
// several; with --truth FILE or --truth-folders (support/class_truth.hpp) the top-1 and top-5 accuracy and the
// mean per-class recall over them follow (clip_benchmark's acc1, acc5 and mean_per_class_recall).
// --report prints stage times and resident memory to stderr (as embed does); --backend cuda
// (GPU 0, bf16) exists when the build has CUDA (tasks_cuda.cu). --precision bf16 runs the cpu backend's
// matrix products on bf16 operands with f32 sums (support/backend.hpp: f32 only on reference, bf16 only
// on cuda).
#include <algorithm>
#include <cstdio>
#include <limits>
#include <optional>
#include <sstream>
#include <string>

#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"
#include "internvl/heads/top_k.hpp"
#include "internvl/io/npy.hpp"
#include "internvl/models/load_internvl.hpp"
#include "support/class_truth.hpp"
#include "support/image_batches.hpp"
#include "support/inputs.hpp"
#include "support/internvl_tasks.hpp"
#include "support/label_set.hpp"
#include "support/outputs.hpp"
#include "support/text_file.hpp"

using namespace internvl;

namespace {

constexpr const char* kUsage =
    "usage: zero_shot --model DIR (--image FILE [--image FILE ...] | --images LIST | --pixels FILE.npy)\n"
    "                 (--labels \"a,b,c\" | --labels-file FILE) [--mode C|G] [--templates FILE] [--topk K]\n"
    "                 [--batch N] [--truth FILE | --truth-folders]\n"
    "                 [--save-class-weights FILE.npy | --class-weights FILE.npy]\n"
    "                 [--report] [--backend reference|cpu|cuda] [--precision f32|bf16] [--profile]\n"
    "  --model DIR          InternVL model directory (config.json, model*.safetensors, tokenizer.model)\n"
    "  --image FILE         an image file (PNG, JPEG, PPM), resized and centre-cropped to the model's size\n"
    "                       (repeat for several images)\n"
    "  --images LIST        a file naming image files, one per line (with or instead of --image)\n"
    "  --pixels FILE.npy    normalised pixels [3, H, W] or [B, 3, H, W] instead of image files\n"
    "  --labels LIST        comma-separated class names\n"
    "  --labels-file FILE   class names, one per line (UTF-8), instead of --labels; or a .json labels file of\n"
    "                       configs/labels/ (imagenet1k.json: the 1000 ImageNet classes; imagenet1k_zh, _ja,\n"
    "                       _ar, _it.json: in Chinese, Japanese, Arabic, Italian; imagenet_a.json and\n"
    "                       imagenet_r.json: the 200 classes of ImageNet-A and ImageNet-R)\n"
    "  --mode C|G           InternVL-C (vision tokens pooled) or InternVL-G (+ QLLaMA's queries); default C\n"
    "  --templates FILE     prompt templates, one per line (UTF-8), {c} marks the label; or a .json file of\n"
    "                       configs/labels/ (imagenet1k_templates.json: the 80 of the paper's ImageNet\n"
    "                       evaluation; imagenet1k_templates_zh, _ja, _ar, _it.json: its multilingual one);\n"
    "                       default \"a photo of a {c}.\"\n"
    "  --topk K             how many labels to print per image (default: all)\n"
    "  --batch N            images per forward pass (default 16); the class weights are computed once\n"
    "  --truth FILE         the true class of each image, a line \"<image file name> <label index>\" each (as\n"
    "                       ImageNet's val.txt), or ImageNet-ReaL's real.json; the top-1 and top-5 accuracy\n"
    "                       and the mean per-class recall follow the images' lines\n"
    "  --truth-folders      the true class of each image is its folder: a WordNet id of the labels file's\n"
    "                       \"folders\" (ImageNet val/ in folders, -Sketch, -A, -R) or the label index (ImageNetV2)\n"
    "  --save-class-weights FILE.npy  write the class weights [C, E] computed from the labels and templates\n"
    "  --class-weights FILE.npy       use class weights saved by an earlier run (same model and labels)\n"
    "                       instead of encoding every label under every template again; the 1000 rows of\n"
    "                       imagenet1k.json's weights also serve imagenet_a.json and imagenet_r.json (their 200\n"
    "                       rows are taken: use the weights of the same templates)\n"
    "  --report             print the time of each stage and the resident memory to stderr\n"
    "  --backend NAME       reference, cpu (default) or cuda (GPU 0, bf16; CUDA builds only)\n"
    "  --precision P        the matrix products on cpu: f32 (default) or bf16 (bf16 operands, f32 sums; faster\n"
    "                       on CPUs with AVX512-BF16 or AMX); reference is f32 only, cuda bf16 only\n"
    "  --profile            with --backend cpu: where the time went, op by op, on stderr at the end\n"
    "Prints label<TAB>probability, most probable first; with several images, each block of lines follows a\n"
    "header line \"# <image>\".\n";

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

// --templates: one template per line (blank lines skipped), or a .json file of configs/labels/ (its
// "templates"); default "a photo of a {c}.".
std::vector<std::string> read_templates(const examples::Cli& cli) {
  const auto path = cli.get("--templates");
  if (!path) {
    return {"a photo of a {c}."};
  }
  std::vector<std::string> templates;
  for (examples::ListEntry& entry : examples::read_list(*path, "templates", "templates file")) {
    if (!entry.text.empty()) {
      models::check_template(entry.text, entry.where);
      templates.push_back(std::move(entry.text));
    }
  }
  INTERNVL_CHECK(!templates.empty(), *path, "the templates file has no template");
  return templates;
}

// The rows of ImageNet-1K's class weights [1000, E] that a labels file's imagenet1k_classes keep (ImageNet-A, -R):
// a class's weight depends on its own prompts only, so one encoding of the 1000 classes serves every subset.
Tensor<float, 2> imagenet_subset_rows(CView<float, 2> weights, const std::vector<index_t>& kept) {
  Tensor<float, 2> rows(Extents<2>{static_cast<index_t>(kept.size()), weights.size(1)});
  for (std::size_t r = 0; r < kept.size(); ++r) {
    for (index_t e = 0; e < weights.size(1); ++e) {
      rows(static_cast<index_t>(r), e) = weights(kept[r], e);
    }
  }
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  const examples::Cli cli(
      argc, argv, kUsage,
      {"--model", "--image", "--images", "--pixels", "--labels", "--labels-file", "--mode", "--templates", "--topk",
       "--batch", "--truth", "--class-weights", "--save-class-weights", "--backend", "--precision"},
      {"--truth-folders", "--report", "--profile"});
  const std::string dir = cli.require("--model");
  examples::check_image_input(cli);
  cli.one_of("--labels", "--labels-file");
  if (cli.has("--class-weights") && (cli.has("--templates") || cli.has("--save-class-weights"))) {
    cli.fail("--class-weights replaces encoding the labels: it goes without --templates and --save-class-weights");
  }
  const std::optional<std::vector<std::string>> labels_from_argument =
      cli.has("--labels") ? std::optional(split_labels(cli)) : std::nullopt;
  const models::EmbeddingMode mode = examples::embedding_mode(cli);
  const int topk = cli.positive("--topk", std::numeric_limits<int>::max());
  const int batch_size = cli.positive("--batch", 16);
  const examples::BackendChoice backend = examples::backend_choice(cli);
  return examples::run_reporting_errors([&] {
    examples::check_outputs(cli, examples::output_options(cli, {"--save-class-weights"}), examples::image_paths(cli));
    examples::StageReport report(cli.has("--report"));
    examples::InternVLJob job;
    job.dir = std::make_shared<const io::ModelDir>(dir);
    job.config = models::read_internvl_config(*job.dir);
    job.mode = mode;
    const examples::LabelSet label_set = labels_from_argument ? examples::LabelSet{*labels_from_argument, {}, {}}
                                                              : examples::read_label_set(*cli.get("--labels-file"));
    job.texts = label_set.labels;
    job.templates = read_templates(cli);
    Tensor<float, 2> class_weights;
    if (const auto path = cli.get("--class-weights")) {  // checked before the model loads
      class_weights = io::read_npy_f32<2>(*path);
      const bool imagenet_rows = class_weights.size(0) == 1000 && !label_set.imagenet1k_classes.empty();
      INTERNVL_CHECK((class_weights.size(0) == static_cast<index_t>(job.texts.size()) || imagenet_rows) &&
                         class_weights.size(1) == job.config.clip_embed_dim,
                     *path, "class weights [", class_weights.size(0), ", ", class_weights.size(1), "] do not fit ",
                     job.texts.size(), " labels of a model with ", job.config.clip_embed_dim, "-wide embeddings",
                     label_set.imagenet1k_classes.empty() ? "" : " (nor ImageNet-1K's 1000 classes)");
      if (imagenet_rows) {
        class_weights = imagenet_subset_rows(CView<float, 2>(class_weights.view()), label_set.imagenet1k_classes);
      }
      job.class_weights = class_weights.view();
    }
    Tensor<float, 2> weights_used;  // [C, E], exp(logit_scale) times unit rows, as the task hands them
    job.class_weights_sink = [&, path = cli.get("--save-class-weights")](CView<float, 2> weights) {
      weights_used = Tensor<float, 2>(weights.shape());
      std::copy_n(weights.data(), weights.numel(), weights_used.data());
      if (path) {
        io::write_npy(*path, weights);
      }
    };
    job.report = &report;
    examples::ImageBatches images(cli, io::Pipeline::classification, job.config.image_size(), batch_size);
    const std::vector<std::string>& labels = job.texts;
    examples::ClassTruth truth(cli, images.names(), static_cast<index_t>(labels.size()), label_set.folders,
                               label_set.imagenet1k_classes);
    report.stage("read inputs");
    Context<backend::cpu> host;  // the logits and their softmax in f32 on the host, each row's bits alone
    index_t printed = 0;
    const examples::ImageEmbeddingSink print = [&](CView<float, 2> embeddings) {
      Tensor<float, 2> logits(Extents<2>{embeddings.size(0), weights_used.size(0)}), probabilities(logits.shape());
      ops::linear(host, logits.view(), embeddings, WeightView<2>(CView<float, 2>(weights_used.view())));
      ops::softmax(host, probabilities.view(), CView<float, 2>(logits.view()));
      for (index_t b = 0; b < logits.size(0); ++b, ++printed) {
        images.print_header(printed);
        const CView<float, 1> row = CView<float, 2>(logits.view())[b];
        truth.add(row, printed);
        for (const auto& [c, logit] : heads::top_k(row, topk)) {
          std::printf("%s\t%.6g\n", labels[static_cast<std::size_t>(c)].c_str(),
                      static_cast<double>(probabilities(b, c)));
        }
      }
    };
    examples::on_backend(
        cli, backend,
        [&]<class Backend>(Context<Backend>& ctx) { examples::zero_shot(ctx, job, images.batches(), print); },
        [&] { examples::zero_shot_cuda(job, images.batches(), print); });
    truth.print();
  });
}
