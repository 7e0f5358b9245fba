// classify: ImageNet-style classification with an InternViT backbone and a probe head (facts §4.1, §5).
//   image -> Resize(S, bicubic, Pillow) -> CenterCrop(S) -> ImageNet normalisation -> InternViT ->
//   probe (linear or attention pooling) on the head's block -> softmax -> the top-k classes,
// printed one per line as "label<TAB>probability". With several images (several --image, or a
// batch in --pixels) each image's lines follow a header line "# <file or batch index>"; with --truth FILE
// or --truth-folders (support/class_truth.hpp) the top-1 and top-5 accuracy and the mean per-class recall over
// them follow. A labels file may keep some of the head's classes (ImageNet-A and -R: 200 of 1000), the softmax
// and the accuracy then over those, as the official evaluation masks the head's other outputs. The images go through
// the model --batch at a time, each batch's lines printed as it is done. The cpu backend's results do not
// depend on the batch (each image's sums run in an order fixed by its own shapes); the reference
// backend's (Eigen's GEMM blocking) and cuda's (cuBLASLt's choice of kernel) may move in the last bits
// with it. --backend cuda (GPU 0: bf16 backbone, f32 head) exists when the build has CUDA; its code is in tasks_cuda.cu
// (support/head_tasks.hpp is shared by every backend). --precision bf16 runs the cpu backend's matrix
// products on bf16 operands with f32 sums (support/backend.hpp: f32 only on reference, bf16 only on cuda).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "internvl/io/preprocess.hpp"
#include "internvl/models/load_intern_vit.hpp"
#include "support/backend.hpp"
#include "support/class_truth.hpp"
#include "support/cli.hpp"
#include "support/head_tasks.hpp"
#include "support/image_batches.hpp"
#include "support/label_set.hpp"
#include "support/text_file.hpp"

using namespace internvl;

namespace {

constexpr const char* kUsage =
    "usage: classify --model DIR [--head FILE] (--image FILE [--image FILE ...] | --images LIST | --pixels FILE.npy)\n"
    "                [--topk K] [--batch N] [--labels FILE] [--truth FILE | --truth-folders]\n"
    "                [--backend reference|cpu|cuda] [--precision f32|bf16] [--profile]\n"
    "\n"
    "Classifies images with an InternViT model directory (config.json + safetensors) and a probe head file\n"
    "(linear_probe or attention_pool_probe; scripts/convert_heads.py converts the official .pth head).\n"
    "  --model DIR       the backbone\n"
    "  --head FILE       the head file (default: DIR/head.safetensors)\n"
    "  --image FILE      a PNG, JPEG or PPM image, preprocessed as the official linear-probe evaluation at the\n"
    "                    model's image_size (repeat for several images)\n"
    "  --images LIST     a file naming image files, one per line (with or instead of --image)\n"
    "  --pixels FILE     already preprocessed pixels, .npy float [3, H, W] or [B, 3, H, W]\n"
    "  --topk K          how many classes to print (default 5)\n"
    "  --batch N         images per forward pass (default 16): memory holds one batch, however many images\n"
    "                    there are (the cpu backend's results do not depend on N)\n"
    "  --labels FILE     class names, one per line (UTF-8; default: the head's labels, else class indices), or\n"
    "                    a .json labels file of configs/labels/: imagenet1k.json, or imagenet_a.json and\n"
    "                    imagenet_r.json, which keep 200 of a 1000-class head's outputs (the softmax and the\n"
    "                    accuracy over those 200, as the official ImageNet-A and -R evaluation)\n"
    "  --truth FILE      the true class of each image, a line \"<image file name> <class index>\" each (as\n"
    "                    ImageNet's val.txt), or ImageNet-ReaL's real.json (the right classes of each\n"
    "                    ILSVRC2012_val_*.JPEG); the top-1 and top-5 accuracy and the mean per-class recall\n"
    "                    follow the images' lines\n"
    "  --truth-folders   the true class of each image is its folder: a WordNet id of the labels file's\n"
    "                    \"folders\" (ImageNet val/ in folders, -Sketch, -A, -R) or the class index (ImageNetV2)\n"
    "  --backend NAME    reference, cpu (default) or cuda (GPU 0: bf16 backbone, f32 head; CUDA builds only)\n"
    "  --precision P     the matrix products on cpu: f32 (default) or bf16 (bf16 operands, f32 sums; faster\n"
    "                    on CPUs with AVX512-BF16 or AMX); reference is f32 only, cuda bf16 only\n"
    "  --profile         with --backend cpu: where the time went, op by op, on stderr at the end\n"
    "Prints \"label<TAB>probability\" lines, most probable first; with several images, each block of lines\n"
    "follows a header line \"# <image>\".\n";

// The classes the run evaluates: the head's, named by its labels or by --labels, or the subset of a
// 1000-class head that a labels file's imagenet1k_classes keeps (the head's outputs evaluated; none for all).
struct Classes {
  examples::LabelSet set;  // labels: one per evaluated class, or none (then named by index)
  index_t count;
};

Classes evaluated_classes(const examples::Cli& cli, const heads::HeadDescription& head) {
  const auto file = cli.get("--labels");
  if (!file) {
    return {{head.labels, {}, {}}, head.num_classes};
  }
  examples::LabelSet set = examples::read_label_set(*file);
  const auto count = static_cast<index_t>(set.labels.size());
  if (set.imagenet1k_classes.empty()) {
    INTERNVL_CHECK(count == head.num_classes, *file, "has ", count, " labels, the head has ", head.num_classes,
                   " classes");
  } else {
    INTERNVL_CHECK(head.num_classes == 1000, *file, "keeps ", count, " of ImageNet-1K's classes, for a head of 1000; ",
                   "this head has ", head.num_classes);
  }
  return {std::move(set), count};
}

// The logits [B, K'] of the evaluated classes, from the head's [B, K].
Tensor<float, 2> evaluated_logits(CView<float, 2> logits, const Classes& classes) {
  Tensor<float, 2> kept(Extents<2>{logits.size(0), classes.count});
  for (index_t b = 0; b < logits.size(0); ++b) {
    for (index_t c = 0; c < classes.count; ++c) {
      const std::vector<index_t>& outputs = classes.set.imagenet1k_classes;
      kept(b, c) = logits(b, outputs.empty() ? c : outputs[static_cast<std::size_t>(c)]);
    }
  }
  return kept;
}

}  // namespace

int main(int argc, char** argv) {
  const examples::Cli cli(argc, argv, kUsage,
                          {"--model", "--head", "--image", "--images", "--pixels", "--topk", "--batch", "--labels",
                           "--truth", "--backend", "--precision"},
                          {"--truth-folders", "--profile"});
  const std::string model_dir = cli.require("--model");
  examples::check_image_input(cli);
  const int topk = cli.positive("--topk", 5);
  const int batch_size = cli.positive("--batch", 16);
  const std::string head_path =
      cli.get("--head").value_or((std::filesystem::path(model_dir) / "head.safetensors").string());

  const examples::BackendChoice backend = examples::backend_choice(cli);
  return examples::run_reporting_errors([&] {
    const auto dir = std::make_shared<const io::ModelDir>(model_dir);
    const examples::HeadJob job{.dir = dir, .config = models::read_vision_config(*dir), .head = head_path};
    const Classes classes = evaluated_classes(cli, heads::HeadFile(head_path).description());
    examples::ImageBatches images(cli, io::Pipeline::classification, job.config.image_size, batch_size);
    examples::ClassTruth truth(cli, images.names(), classes.count, classes.set.folders, classes.set.imagenet1k_classes);
    Context<backend::reference> host;  // the softmax over the evaluated classes, in f32 on the host
    index_t printed = 0;
    // Ranked by logit (as the official evaluation ranks them: two classes whose probabilities round to the same
    // float keep their order), printed with their probabilities.
    const examples::ClassLogitsSink print = [&](CView<float, 2> all_logits) {
      const Tensor<float, 2> logits = evaluated_logits(all_logits, classes);
      Tensor<float, 2> probabilities(logits.shape());
      ops::softmax(host, probabilities.view(), CView<float, 2>(logits.view()));
      for (index_t b = 0; b < logits.size(0); ++b, ++printed) {
        images.print_header(printed);
        const CView<float, 1> row = CView<float, 2>(logits.view())[b];
        truth.add(row, printed);
        for (const auto& [k, logit] : heads::top_k(row, topk)) {
          const std::string label =
              classes.set.labels.empty() ? std::to_string(k) : classes.set.labels[static_cast<std::size_t>(k)];
          std::printf("%s\t%.6f\n", label.c_str(), static_cast<double>(probabilities(b, k)));
        }
      }
    };
    examples::on_backend(
        cli, backend,
        [&]<class Backend>(Context<Backend>& ctx) { examples::classify(ctx, job, images.batches(), print); },
        [&] { examples::classify_cuda(job, images.batches(), print); });
    truth.print();
  });
}
