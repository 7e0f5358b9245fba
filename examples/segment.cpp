// segment: semantic segmentation with an InternViT backbone and a segmentation head (facts §6), the
// mmseg evaluation procedure: the shorter side resized to the head's crop size and both sides to
// multiples of the patch size, mmseg normalisation, whole-image or sliding-window inference, logits
// resized back to the image, argmax. Writes the class-index mask (a palette PNG with the head's colours),
// optionally a colour overlay and the logits, and prints the share of the image each predicted class covers.
// --backend cuda (GPU 0, bf16) exists when the build has CUDA; its code is in tasks_cuda.cu
// (support/head_tasks.hpp is shared by every backend). --precision bf16 runs the cpu backend's matrix
// products on bf16 operands with f32 sums (support/backend.hpp: f32 only on reference, bf16 only on cuda).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "internvl/io/image.hpp"
#include "internvl/io/npy.hpp"
#include "internvl/io/palette_png.hpp"
#include "internvl/io/segmentation_input.hpp"
#include "internvl/models/load_intern_vit.hpp"
#include "support/backend.hpp"
#include "support/cli.hpp"
#include "support/head_tasks.hpp"

using namespace internvl;

namespace {

constexpr const char* kUsage =
    "usage: segment --model DIR --head FILE --image FILE --out MASK.png [--overlay FILE.png] [--slide]\n"
    "               [--out-npy LOGITS.npy] [--backend reference|cpu|cuda] [--precision f32|bf16]\n"
    "               [--profile]\n"
    "\n"
    "Segments an image with an InternViT model directory and a segmentation head file (seg_linear or\n"
    "seg_upernet; scripts/convert_heads.py converts the official mmseg checkpoints).\n"
    "  --model DIR       the backbone (config.json + safetensors)\n"
    "  --head FILE       the head file; its crop_size sets the input resize (shorter side -> crop_size)\n"
    "  --image FILE      a PNG, JPEG or PPM image\n"
    "  --out MASK.png    the class of each pixel as an 8-bit palette PNG: pixel value = class index (at most\n"
    "                    256 classes), shown in the head's colours\n"
    "  --overlay FILE    the image blended half and half with the class colours (the head's palette)\n"
    "  --slide           sliding-window inference (crop_size windows at steps of stride, as the official\n"
    "                    evaluation); default: one forward pass over the whole resized image\n"
    "  --out-npy FILE    the logits [K, H, W] (float32, at the image's size) before the argmax\n"
    "  --backend NAME    reference, cpu (default) or cuda (GPU 0, bf16; CUDA builds only)\n"
    "  --precision P     the matrix products on cpu: f32 (default) or bf16 (bf16 operands, f32 sums; faster\n"
    "                    on CPUs with AVX512-BF16 or AMX); reference is f32 only, cuda bf16 only\n"
    "  --profile         with --backend cpu: where the time went, op by op, on stderr at the end\n";

// Colours for heads without a palette: hues spread by the golden ratio, bright and saturated.
heads::Rgb fallback_colour(index_t k) {
  const double h = std::fmod(static_cast<double>(k) * 0.618033988749895, 1.0) * 6.0, s = 0.7, v = 0.95;
  const double f = h - std::floor(h), p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  const double table[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
  const auto* rgb = table[static_cast<int>(h) % 6];
  return {static_cast<std::uint8_t>(rgb[0] * 255), static_cast<std::uint8_t>(rgb[1] * 255),
          static_cast<std::uint8_t>(rgb[2] * 255)};
}

}  // namespace

int main(int argc, char** argv) {
  const examples::Cli cli(
      argc, argv, kUsage,
      {"--model", "--head", "--image", "--out", "--overlay", "--out-npy", "--backend", "--precision"}, {"--slide", "--profile"});
  const std::string model_dir = cli.require("--model");
  const std::string head_path = cli.require("--head");
  const std::string image_path = cli.require("--image");
  const std::string mask_path = cli.require("--out");
  const auto mode = cli.has("--slide") ? heads::Inference::slide : heads::Inference::whole;

  const examples::BackendChoice backend = examples::backend_choice(cli);
  return examples::run_reporting_errors([&] {
    examples::check_outputs(cli, {"--out", "--overlay", "--out-npy"});
    const auto dir = std::make_shared<const io::ModelDir>(model_dir);
    const examples::HeadJob job{.dir = dir, .config = models::read_vision_config(*dir), .head = head_path};
    const heads::HeadDescription d = heads::HeadFile(head_path).description();
    INTERNVL_CHECK(d.num_classes <= 256, head_path, d.num_classes,
                   " classes do not fit the 8-bit mask PNG (use --out-npy and your own argmax)");
    std::vector<heads::Rgb> palette = d.palette;
    for (index_t k = static_cast<index_t>(palette.size()); k < d.num_classes; ++k) {
      palette.push_back(fallback_colour(k));
    }
    const io::Image image = io::read_image(image_path);
    if (d.crop_size > 0) {  // a segmentation head (else an error follows)
      // The resized image the head will see, checked before the model is loaded.
      const index_t patch = job.config.patch_size;
      const io::ImageSize input =
          io::segmentation_input_size(io::size_of(image.view()), {.short_side = d.crop_size, .size_divisor = patch});
      INTERNVL_CHECK(io::fits_image_bytes(input, 3), image_path,
                     "resized for segmentation (shorter side to the head's crop size ", d.crop_size,
                     ", sides to multiples of ", patch, ") this ", io::size_of(image.view()), " image would be ", input,
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
    const Tensor<float, 3> logits = examples::on_backend(
        cli, backend,
        [&]<class Backend>(Context<Backend>& ctx) { return examples::segment(ctx, job, image.view(), mode); },
        [&] { return examples::segment_cuda(job, image.view(), mode); });
    const Tensor<std::int32_t, 2> classes = heads::argmax_classes(logits.view());
    const index_t height = classes.size(0), width = classes.size(1);

    io::Image mask = io::make_image({width, height}, 1);
    std::vector<index_t> counts(static_cast<std::size_t>(d.num_classes), 0);
    for (index_t i = 0; i < classes.numel(); ++i) {
      mask.data()[i] = static_cast<std::uint8_t>(classes.data()[i]);
      ++counts[static_cast<std::size_t>(classes.data()[i])];
    }
    io::write_palette_png(mask_path, mask.view(), palette);
    if (const auto overlay_path = cli.get("--overlay")) {
      io::Image overlay = io::make_image({width, height}, 3);
      for (index_t i = 0; i < classes.numel(); ++i) {
        const index_t k = classes.data()[i];
        const heads::Rgb& colour = palette[static_cast<std::size_t>(k)];
        for (int c = 0; c < 3; ++c) {
          overlay.data()[3 * i + c] = static_cast<std::uint8_t>((image.data()[3 * i + c] + colour[c] + 1) / 2);
        }
      }
      io::write_png(*overlay_path, overlay.view());
    }
    if (const auto npy_path = cli.get("--out-npy")) {
      io::write_npy(*npy_path, logits.view());
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
  });
}
