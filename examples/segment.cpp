// segment: semantic segmentation with an InternViT backbone and a segmentation head (facts §6), the
// mmseg evaluation procedure: the shorter side resized to the head's crop size and both sides to
// multiples of the patch size, mmseg normalisation, whole-image or sliding-window inference (--slide, the
// official evaluation's; whole-image mode is this program's own, for images of any shape), logits
// resized back to the image, argmax. Writes the class-index mask (a palette PNG with the head's colours),
// optionally a colour overlay and the logits, and prints the share of the image each predicted class covers.
// Several images (--image repeated, with --out-dir) share one loaded model: an evaluation set costs one
// load, which on --backend cuda is the upload of every weight to the GPU. With --truth-dir, each image's
// label mask is read from there and the set is scored as mmseg scores it (heads/segmentation_metrics.hpp:
// per-class IoU and accuracy, aAcc, mIoU, mAcc), printed after the images' lines.
// --backend cuda (GPU 0: bf16 backbone, f32 head) exists when the build has CUDA; its code is in tasks_cuda.cu
// (support/head_tasks.hpp is shared by every backend). --precision bf16 runs the cpu backend's matrix
// products on bf16 operands with f32 sums (support/backend.hpp: f32 only on reference, bf16 only on cuda).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "internvl/heads/segmentation_metrics.hpp"
#include "internvl/io/image.hpp"
#include "internvl/io/label_mask.hpp"
#include "internvl/io/npy.hpp"
#include "internvl/io/palette_png.hpp"
#include "internvl/io/segmentation_input.hpp"
#include "internvl/models/load_intern_vit.hpp"
#include "support/backend.hpp"
#include "support/cli.hpp"
#include "support/head_tasks.hpp"
#include "support/image_batches.hpp"
#include "support/out_dir.hpp"
#include "support/outputs.hpp"

using namespace internvl;

namespace {

constexpr const char* kUsage =
    "usage: segment --model DIR --head FILE --image FILE --out MASK.png [--overlay FILE.png] [--out-npy LOGITS.npy]\n"
    "       segment --model DIR --head FILE (--image FILE [--image FILE ...] | --images LIST) --out-dir DIR\n"
    "               [--overlays] [--logits]\n"
    "               and either form: [--slide] [--backend reference|cpu|cuda] [--precision f32|bf16] [--profile]\n"
    "               [--truth-dir DIR [--truth-suffix S] [--reduce-zero-label] [--ignore-index N]] (then --out\n"
    "               and --out-dir may be left out)\n"
    "\n"
    "Segments images with an InternViT model directory and a segmentation head file (seg_linear or\n"
    "seg_upernet; scripts/convert_heads.py converts the official mmseg checkpoints). The model is loaded once\n"
    "for all the images.\n"
    "  --model DIR       the backbone (config.json + safetensors)\n"
    "  --head FILE       the head file; its crop_size sets the input resize (shorter side -> crop_size)\n"
    "  --image FILE      a PNG, JPEG or PPM image (repeat for several, with --out-dir), read as mmseg reads it\n"
    "                    (OpenCV): turned as its EXIF orientation says, and the mask has the turned size\n"
    "  --images LIST     a file naming image files, one per line (with or instead of --image; --out-dir)\n"
    "  --out MASK.png    the class of each pixel as an 8-bit palette PNG: pixel value = class index (at most\n"
    "                    256 classes), shown in the head's colours\n"
    "  --overlay FILE    the image blended half and half with the class colours (the head's palette)\n"
    "  --out-npy FILE    the logits [K, H, W] (float32, at the image's size) before the argmax\n"
    "  --out-dir DIR     for each image, its mask as DIR/<stem>.png (image file names must differ; DIR is\n"
    "                    created if missing), and\n"
    "  --overlays        its overlay as DIR/<stem>_overlay.png\n"
    "  --logits          its logits as DIR/<stem>.npy\n"
    "  --slide           sliding-window inference (crop_size windows at steps of stride), the official\n"
    "                    evaluation's (every ADE20K config of InternViT-6B tests so, and the paper's mIoU\n"
    "                    are for it); default: one forward pass over the whole resized image, with the\n"
    "                    position embedding resized to its grid (no official counterpart)\n"
    "  --backend NAME    reference, cpu (default) or cuda (GPU 0: bf16 backbone, f32 head; CUDA builds only)\n"
    "  --precision P     the matrix products on cpu: f32 (default) or bf16 (bf16 operands, f32 sums; faster\n"
    "                    on CPUs with AVX512-BF16 or AMX); reference is f32 only, cuda bf16 only\n"
    "  --profile         with --backend cpu: where the time went, op by op, on stderr at the end\n"
    "  --truth-dir DIR   score the masks against the label masks DIR/<image stem><suffix> (8-bit grey or\n"
    "                    palette PNGs, pixel value or index = label) as mmseg does: IoU and accuracy per\n"
    "                    class, aAcc, mIoU, mAcc\n"
    "  --truth-suffix S  the label masks' file name after the image's stem (default .png)\n"
    "  --reduce-zero-label  label 0 is ignored and label l is class l - 1 (ADE20K's masks)\n"
    "  --ignore-index N  the label of pixels left out of the scores, 0-255 (default 255)\n"
    "Prints the share of the image each predicted class covers; with several images, each image's lines\n"
    "follow a header line \"# <image>\". With --truth-dir, the scores follow, in percent.\n";

// Colours for heads without a palette: hues spread by the golden ratio, bright and saturated.
heads::Rgb fallback_colour(index_t k) {
  const double h = std::fmod(static_cast<double>(k) * 0.618033988749895, 1.0) * 6.0, s = 0.7, v = 0.95;
  const double f = h - std::floor(h), p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  const double table[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
  const auto* rgb = table[static_cast<int>(h) % 6];
  return {static_cast<std::uint8_t>(rgb[0] * 255), static_cast<std::uint8_t>(rgb[1] * 255),
          static_cast<std::uint8_t>(rgb[2] * 255)};
}

// One image's output files; an empty path is not written.
struct Outputs {
  std::string mask, overlay, logits;
};

// --out, --overlay and --out-npy for one image, or with --out-dir DIR, for each image DIR/<stem>.png and,
// with --overlays and --logits, DIR/<stem>_overlay.png and DIR/<stem>.npy (stems must differ).
// With --truth-dir, neither --out nor --out-dir is needed: then no file is written.
std::vector<Outputs> output_paths(const examples::Cli& cli, const std::vector<std::string>& images) {
  if (cli.has("--truth-dir") && !cli.has("--out") && !cli.has("--out-dir")) {
    if (cli.has("--overlay") || cli.has("--out-npy") || cli.has("--overlays") || cli.has("--logits")) {
      cli.fail("--overlay, --out-npy, --overlays and --logits need --out or --out-dir");
    }
    return std::vector<Outputs>(images.size());
  }
  cli.one_of("--out", "--out-dir");
  const auto dir = cli.get("--out-dir");
  if (!dir) {
    if (images.size() > 1) {
      cli.fail("several images need --out-dir (each one's mask is written there as <stem>.png)");
    }
    if (cli.has("--overlays") || cli.has("--logits")) {
      cli.fail("--overlays and --logits go with --out-dir; with --out, give --overlay FILE and --out-npy FILE");
    }
    return {{*cli.get("--out"), cli.get("--overlay").value_or(""), cli.get("--out-npy").value_or("")}};
  }
  if (cli.has("--overlay") || cli.has("--out-npy")) {
    cli.fail("--overlay and --out-npy go with --out; with --out-dir, give --overlays and --logits");
  }
  std::vector<Outputs> outputs;
  for (const std::filesystem::path& base : examples::stem_paths(cli, "--out-dir", "written as", images, *dir, ".png")) {
    outputs.push_back({base.string() + ".png", cli.has("--overlays") ? base.string() + "_overlay.png" : "",
                       cli.has("--logits") ? base.string() + ".npy" : ""});
  }
  examples::make_output_dir("--out-dir", *dir);
  return outputs;
}

// The resized image the head will see must fit in memory (an error naming the file), and whole-image
// inference over far more tokens than a crop gets a note on stderr.
void check_input(const std::string& path, io::ImageView image, const heads::HeadDescription& d, index_t patch,
                 heads::Inference mode) {
  if (d.crop_size <= 0) {
    return;  // not a segmentation head: the head's own error follows
  }
  const io::ImageSize input =
      io::segmentation_input_size(io::size_of(image), {.short_side = d.crop_size, .size_divisor = patch});
  INTERNVL_CHECK(io::fits_image_bytes(input, 3), path,
                 "resized for segmentation (shorter side to the head's crop size ", d.crop_size,
                 ", sides to multiples of ", patch, ") this ", io::size_of(image), " image would be ", input,
                 " pixels, over the 2 GiB an image may take");
  const index_t tokens = (input.width / patch) * (input.height / patch);
  const index_t crop_tokens = (d.crop_size / patch) * (d.crop_size / patch);
  if (mode == heads::Inference::whole && tokens > 16 * crop_tokens) {
    std::fprintf(stderr,
                 "note: whole-image inference over %lld tokens (%lldx%lld input, %lld crops' worth); attention's "
                 "cost grows with their square: --slide runs %lldx%lld windows instead\n",
                 static_cast<long long>(tokens), static_cast<long long>(input.width),
                 static_cast<long long>(input.height), static_cast<long long>(tokens / crop_tokens),
                 static_cast<long long>(d.crop_size), static_cast<long long>(d.crop_size));
  }
}

// The mask (and the overlay and logits where asked) of one image, and the share of the image each
// predicted class covers on stdout.
void write_outputs(const Outputs& out, io::ImageView image, CView<float, 3> logits,
                   const Tensor<std::int32_t, 2>& classes, const heads::HeadDescription& d,
                   const std::vector<heads::Rgb>& palette) {
  const index_t height = classes.size(0), width = classes.size(1);
  std::vector<index_t> counts(static_cast<std::size_t>(d.num_classes), 0);
  for (index_t i = 0; i < classes.numel(); ++i) {
    ++counts[static_cast<std::size_t>(classes.data()[i])];
  }
  if (!out.mask.empty()) {
    io::Image mask = io::make_image({width, height}, 1);
    for (index_t i = 0; i < classes.numel(); ++i) {
      mask.data()[i] = static_cast<std::uint8_t>(classes.data()[i]);
    }
    io::write_palette_png(out.mask, mask.view(), palette);
  }
  if (!out.overlay.empty()) {
    io::Image overlay = io::make_image({width, height}, 3);
    for (index_t i = 0; i < classes.numel(); ++i) {
      const heads::Rgb& colour = palette[static_cast<std::size_t>(classes.data()[i])];
      for (int c = 0; c < 3; ++c) {
        overlay.data()[3 * i + c] = static_cast<std::uint8_t>((image.data()[3 * i + c] + colour[c] + 1) / 2);
      }
    }
    io::write_png(out.overlay, overlay.view());
  }
  if (!out.logits.empty()) {
    io::write_npy(out.logits, logits);
  }
  std::vector<std::pair<index_t, index_t>> present;  // (pixels, class)
  for (index_t k = 0; k < d.num_classes; ++k) {
    if (counts[static_cast<std::size_t>(k)] > 0) {
      present.emplace_back(counts[static_cast<std::size_t>(k)], k);
    }
  }
  std::sort(present.begin(), present.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  for (const auto& [pixels, k] : present) {
    const std::string label = d.labels.empty() ? std::to_string(k) : d.labels[static_cast<std::size_t>(k)];
    std::printf("%s\t%.4f\n", label.c_str(), static_cast<double>(pixels) / static_cast<double>(classes.numel()));
  }
}

// The label mask of each image with --truth-dir DIR: DIR/<stem><--truth-suffix>, each one checked to exist;
// empty without --truth-dir. Two images with one stem would be scored against the same mask: an error.
std::vector<std::string> truth_masks(const examples::Cli& cli, const std::vector<std::string>& images) {
  const std::optional<std::string> dir = cli.get("--truth-dir");
  if (!dir) {
    return {};
  }
  const std::string suffix = cli.get("--truth-suffix").value_or(".png");
  std::vector<std::string> masks;
  for (const std::filesystem::path& base :
       examples::stem_paths(cli, "--truth-dir", "scored against", images, *dir, suffix)) {
    masks.push_back(base.string() + suffix);
    io::check_image_path(masks.back());
  }
  return masks;
}

// The scores of --truth-dir: per class, then over all of them, in percent ("nan" for a class absent from
// both the masks and the predictions, or for the accuracy of one absent from the masks).
void print_scores(const heads::SegmentationScores& s, const heads::HeadDescription& d, const std::string& dir) {
  std::printf("# scores against the label masks in %s (mmseg's metrics, in percent)\nclass\tIoU\tAcc\n", dir.c_str());
  for (std::size_t k = 0; k < s.iou.size(); ++k) {
    const std::string label = d.labels.empty() ? std::to_string(k) : d.labels[k];
    std::printf("%s\t%.2f\t%.2f\n", label.c_str(), 100 * s.iou[k], 100 * s.accuracy[k]);
  }
  std::printf("aAcc\t%.2f\nmIoU\t%.2f\nmAcc\t%.2f\n", 100 * s.all_accuracy, 100 * s.mean_iou, 100 * s.mean_accuracy);
}

}  // namespace

int main(int argc, char** argv) {
  const examples::Cli cli(argc, argv, kUsage,
                          {"--model", "--head", "--image", "--images", "--out", "--overlay", "--out-npy", "--out-dir",
                           "--backend", "--precision", "--truth-dir", "--truth-suffix", "--ignore-index"},
                          {"--slide", "--overlays", "--logits", "--profile", "--reduce-zero-label"});
  const std::string model_dir = cli.require("--model");
  const std::string head_path = cli.require("--head");
  if (!cli.has("--image") && !cli.has("--images")) {
    cli.fail("missing required option --image (or --images)");
  }
  const auto mode = cli.has("--slide") ? heads::Inference::slide : heads::Inference::whole;
  if (!cli.has("--truth-dir") &&
      (cli.has("--truth-suffix") || cli.has("--reduce-zero-label") || cli.has("--ignore-index"))) {
    cli.fail("--truth-suffix, --reduce-zero-label and --ignore-index go with --truth-dir");
  }
  const int ignore_index = cli.integer("--ignore-index", 255);
  if (ignore_index < 0 || ignore_index > 255) {
    cli.fail("--ignore-index must lie in [0, 255] (a label of the 8-bit masks), got " + std::to_string(ignore_index));
  }

  const examples::BackendChoice backend = examples::backend_choice(cli);
  return examples::run_reporting_errors([&] {
    const std::vector<std::string> image_paths = examples::image_paths(cli);
    const std::vector<Outputs> outputs = output_paths(cli, image_paths);
    examples::check_image_files(image_paths);
    const std::vector<std::string> masks = truth_masks(cli, image_paths);
    std::vector<examples::OutputFile> files;
    const bool in_dir = cli.has("--out-dir");
    for (const Outputs& o : outputs) {
      for (const auto& [option, path] : {std::pair{in_dir ? "--out-dir" : "--out", o.mask},
                                         std::pair{in_dir ? "--overlays" : "--overlay", o.overlay},
                                         std::pair{in_dir ? "--logits" : "--out-npy", o.logits}}) {
        if (!path.empty() || (!in_dir && cli.has(option))) {
          files.push_back({option, path});
        }
      }
    }
    std::vector<std::string> read = image_paths;
    read.insert(read.end(), masks.begin(), masks.end());
    examples::check_outputs(cli, files, read);
    const auto dir = std::make_shared<const io::ModelDir>(model_dir);
    const examples::HeadJob job{.dir = dir, .config = models::read_vision_config(*dir), .head = head_path};
    const heads::HeadDescription d = heads::HeadFile(head_path).description();
    INTERNVL_CHECK(d.num_classes <= 256, head_path, d.num_classes,
                   " classes do not fit the 8-bit mask PNG (use --out-npy and your own argmax)");
    std::vector<heads::Rgb> palette = d.palette;
    for (index_t k = static_cast<index_t>(palette.size()); k < d.num_classes; ++k) {
      palette.push_back(fallback_colour(k));
    }
    std::optional<heads::SegmentationEvaluation> evaluation;
    if (!masks.empty()) {
      evaluation.emplace(d.num_classes, ignore_index, cli.has("--reduce-zero-label"));
    }
    // Each image (and its label mask) is read and checked when its turn comes, the first before the model
    // is loaded.
    io::Image image;               // the image read last
    Tensor<std::uint8_t, 2> labels;  // its label mask (--truth-dir)
    std::size_t read_count = 0;    // images read so far
    std::size_t handed_count = 0;  // images handed to the task so far
    const auto read_next = [&] {
      image = io::read_image(image_paths[read_count], io::Decoder::opencv);
      check_input(image_paths[read_count], image.view(), d, job.config.patch_size, mode);
      if (evaluation) {
        labels = io::read_label_mask(masks[read_count]);
        evaluation->check(CView<std::uint8_t, 2>(labels.view()), image.size(0), image.size(1), masks[read_count]);
      }
      ++read_count;
    };
    read_next();
    const examples::ImageSource images = [&]() -> std::optional<io::ImageView> {
      if (handed_count == image_paths.size()) {
        return std::nullopt;
      }
      if (handed_count == read_count) {
        read_next();
      }
      ++handed_count;
      return io::ImageView(image.view());
    };
    std::size_t written = 0;
    const examples::LogitsSink write = [&](CView<float, 3> logits) {
      const Tensor<std::int32_t, 2> classes = heads::argmax_classes(logits);
      examples::print_image_header(image_paths, written);
      write_outputs(outputs[written], image.view(), logits, classes, d, palette);
      if (evaluation) {
        evaluation->add(CView<std::int32_t, 2>(classes.view()), CView<std::uint8_t, 2>(labels.view()), masks[written]);
      }
      ++written;
    };
    examples::on_backend(
        cli, backend, [&]<class Backend>(Context<Backend>& ctx) { examples::segment(ctx, job, images, mode, write); },
        [&] { examples::segment_cuda(job, images, mode, write); });
    if (evaluation) {
      print_scores(evaluation->scores(), d, *cli.get("--truth-dir"));
    }
  });
}
