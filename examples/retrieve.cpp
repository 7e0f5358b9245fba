// Zero-shot image-text retrieval scores (Flickr30K, COCO; MSR-VTT's videos) from the embeddings that embed writes:
//   retrieve --image-embeddings IMAGES.npy --text-embeddings TEXTS.npy (--texts-per-image N | --text-images FILE)
//            [--k LIST] [--dual-softmax]
// IMAGES.npy [N, E] and TEXTS.npy [T, E] (float32; each row is L2-normalised again here, as clip_benchmark
// does, so any embeddings can be given). Which image each text describes: --texts-per-image N for texts in
// image order (rows N·i to N·i + N − 1 describe image i), or --text-images FILE, one image row (from 0)
// per line, line t + 1 for text t. Prints recall@K in both directions (models/retrieval.hpp: image-to-text
// asks whether any of an image's texts is among its K best texts, text-to-image whether a text's image
// is among its K best images), in percent, and their mean, as the InternVL paper's retrieval tables
// report them. --dual-softmax ranks by the official video retrieval's scores instead (test_msrvtt.py's
// use_dsl: each cosine weighted by its softmax over the other side, models/retrieval.hpp). The scores are
// computed on the cpu backend, 1024 texts at a time.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/linear.hpp"
#include "internvl/io/npy.hpp"
#include "internvl/models/retrieval.hpp"
#include "support/cli.hpp"
#include "support/text_file.hpp"

using namespace internvl;

namespace {

constexpr const char* kUsage =
    "usage: retrieve --image-embeddings IMAGES.npy --text-embeddings TEXTS.npy\n"
    "                (--texts-per-image N | --text-images FILE) [--k LIST] [--dual-softmax]\n"
    "  --image-embeddings F  image embeddings, float32 [N, E] (embed --out-image)\n"
    "  --text-embeddings F   text embeddings, float32 [T, E] (embed --out-text)\n"
    "  --texts-per-image N   the texts are in image order, N per image: T = N x images\n"
    "  --text-images FILE    the image row (0 to N - 1) each text describes, one per line: line t + 1 for text t\n"
    "  --k LIST              the K of recall@K, comma-separated (default 1,5,10)\n"
    "  --dual-softmax        rank by each cosine times its softmax over the other side's candidates, as the\n"
    "                        official video retrieval (MSR-VTT) scores; default: the cosines\n"
    "Prints recall@K of image-to-text and text-to-image retrieval in percent, and their mean.\n";

// An integer from `text`, or nothing unless the whole of it is one.
std::optional<index_t> parse_integer(const std::string& text) {
  index_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::vector<index_t> parse_ks(const examples::Cli& cli) {
  const std::string list = cli.get("--k").value_or("1,5,10");
  std::vector<index_t> ks;
  std::size_t begin = 0;
  while (true) {
    const std::size_t comma = list.find(',', begin);
    const std::string field = list.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
    const std::optional<index_t> k = parse_integer(field);
    if (!k || *k < 1) {
      cli.fail("--k expects positive integers separated by commas, got '" + list + "'");
    }
    ks.push_back(*k);
    if (comma == std::string::npos) {
      return ks;
    }
    begin = comma + 1;
  }
}

// The rows of a [rows, E] .npy file, each divided by its L2 norm (a zero row is an error naming it).
Tensor<float, 2> unit_rows(const std::string& path) {
  Tensor<float, 2> rows = io::read_npy_f32<2>(path);
  INTERNVL_CHECK(rows.size(0) > 0 && rows.size(1) > 0, path, "holds no embeddings (shape [", rows.size(0), ", ",
                 rows.size(1), "])");
  for (index_t r = 0; r < rows.size(0); ++r) {
    float* row = rows.data() + r * rows.size(1);
    double squares = 0.0;
    for (index_t e = 0; e < rows.size(1); ++e) {
      squares += static_cast<double>(row[e]) * row[e];
    }
    INTERNVL_CHECK(squares > 0.0 && std::isfinite(squares), path, "row ", r, " has no direction (its L2 norm is ",
                   std::sqrt(squares), ")");
    const auto inverse_norm = static_cast<float>(1.0 / std::sqrt(squares));
    for (index_t e = 0; e < rows.size(1); ++e) {
      row[e] *= inverse_norm;
    }
  }
  return rows;
}

// The image of each of `texts` texts: `per_image` at a time in image order (--texts-per-image), or from
// the lines of --text-images (per_image 0).
std::vector<index_t> image_of_text(const examples::Cli& cli, index_t per_image, index_t images, index_t texts) {
  std::vector<index_t> result;
  if (const std::optional<std::string> path = cli.get("--text-images")) {
    std::vector<std::string> lines = examples::read_lines(*path, "text-images file");
    while (!lines.empty() && lines.back().empty()) {  // blank lines at the end, as other list files allow
      lines.pop_back();
    }
    for (std::size_t line = 0; line < lines.size(); ++line) {
      const std::optional<index_t> image = parse_integer(lines[line]);
      INTERNVL_CHECK(image && *image >= 0 && *image < images, *path + ":" + std::to_string(line + 1), "'", lines[line],
                     "' is not an image row (0 to ", images - 1, ")");
      result.push_back(*image);
    }
    INTERNVL_CHECK(static_cast<index_t>(result.size()) == texts, *path, "names the image of ", result.size(),
                   " texts; the text embeddings hold ", texts);
    std::vector<bool> described(static_cast<std::size_t>(images), false);
    for (const index_t image : result) {
      described[static_cast<std::size_t>(image)] = true;
    }
    const auto missing = std::find(described.begin(), described.end(), false);
    INTERNVL_CHECK(missing == described.end(), *path, "no line names image ", missing - described.begin(),
                   ": every image needs a text to be retrieved by");
    return result;
  }
  INTERNVL_CHECK(texts == per_image * images, cli.require("--text-embeddings"), "holds ", texts, " texts, not ",
                 per_image, " for each of the ", images, " images");
  for (index_t t = 0; t < texts; ++t) {
    result.push_back(t / per_image);
  }
  return result;
}

void print_recalls(const char* direction, const std::vector<index_t>& ranks, const std::vector<index_t>& ks,
                   double& sum) {
  std::printf("%-14s", direction);
  for (const index_t k : ks) {
    const double recall = 100.0 * models::recall_at(ranks, k);
    std::printf(" %7.2f", recall);
    sum += recall;
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const examples::Cli cli(argc, argv, kUsage,
                          {"--image-embeddings", "--text-embeddings", "--texts-per-image", "--text-images", "--k"},
                          {"--dual-softmax"});
  const std::string images_path = cli.require("--image-embeddings");
  const std::string texts_path = cli.require("--text-embeddings");
  const bool grouped = cli.one_of("--texts-per-image", "--text-images") == "--texts-per-image";
  const index_t per_image = grouped ? cli.positive("--texts-per-image", 1) : 0;
  const std::vector<index_t> ks = parse_ks(cli);
  return examples::run_reporting_errors([&] {
    const Tensor<float, 2> images = unit_rows(images_path), texts = unit_rows(texts_path);
    INTERNVL_CHECK(images.size(1) == texts.size(1), texts_path, "holds ", texts.size(1), "-wide embeddings, ",
                   images_path, " ", images.size(1), "-wide ones");
    for (const index_t k : ks) {
      INTERNVL_CHECK(k <= images.size(0) && k <= texts.size(0), "--k", "recall@", k, " needs at least ", k,
                     " images and texts to rank; there are ", images.size(0), " images and ", texts.size(0), " texts");
    }
    const std::vector<index_t> image_rows = image_of_text(cli, per_image, images.size(0), texts.size(0));
    Context<backend::cpu> ctx;
    const bool dual_softmax = cli.has("--dual-softmax");
    const models::RetrievalRanks ranks = models::retrieval_ranks(
        ctx, CView<float, 2>(images.view()), CView<float, 2>(texts.view()), image_rows, 1024,
        dual_softmax ? models::RetrievalScoring::dual_softmax : models::RetrievalScoring::cosine);
    std::printf("images %lld, texts %lld, width %lld%s\n", static_cast<long long>(images.size(0)),
                static_cast<long long>(texts.size(0)), static_cast<long long>(images.size(1)),
                dual_softmax ? ", scored by the dual softmax" : "");
    std::printf("%-14s", "recall (%)");
    for (const index_t k : ks) {
      std::printf(" %7s", ("R@" + std::to_string(k)).c_str());
    }
    std::printf("\n");
    double sum = 0.0;
    print_recalls("image-to-text", ranks.image_to_text, ks, sum);
    print_recalls("text-to-image", ranks.text_to_image, ks, sum);
    std::printf("%-14s %7.2f\n", "mean", sum / static_cast<double>(2 * ks.size()));
  });
}
