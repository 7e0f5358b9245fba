// The demonstration models of demo/ (trained by scripts/train_demo.py, see demo/README.md) through the
// C++ pipelines, against the PyTorch numbers in demo/reference_results.json: held-out digit top-1 of the
// linear probe, and held-out scene mIoU of the linear and UperNet segmentation heads (sliding window),
// each within 0.5 points of PyTorch's and above the demo's bar (top-1 >= 95%, mIoU >= 80%).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "internvl/backend/cpu/all.hpp"
#include "internvl/heads/classification_head.hpp"
#include "internvl/heads/segmenter.hpp"
#include "internvl/io/json.hpp"
#include "internvl/io/preprocess.hpp"
#include "internvl/models/load_intern_vit.hpp"

using namespace internvl;

namespace {

std::string demo(const std::string& relative) {
  const char* dir = std::getenv("INTERNVL_DEMO_DIR");
  return std::string(dir != nullptr ? dir : "demo") + "/" + relative;
}

// The tab-separated columns of each line of a list file.
std::vector<std::vector<std::string>> read_rows(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) {
      continue;
    }
    std::vector<std::string> row;
    std::stringstream fields(line);
    for (std::string field; std::getline(fields, field, '\t');) {
      row.push_back(field);
    }
    rows.push_back(row);
  }
  return rows;
}

// mmseg's mIoU: per-class intersections and unions summed over all images, IoU averaged over the
// classes with a nonzero union.
double mean_iou(const std::vector<double>& intersection, const std::vector<double>& union_) {
  double sum = 0.0;
  int classes = 0;
  for (std::size_t k = 0; k < intersection.size(); ++k) {
    if (union_[k] > 0) {
      sum += intersection[k] / union_[k];
      ++classes;
    }
  }
  return sum / classes;
}

}  // namespace

TEST_CASE("demo digits: the C++ linear probe's held-out top-1 matches PyTorch", "[demo]") {
  const nlohmann::json reference = io::read_json_file(demo("reference_results.json")).at("digits");
  auto model = models::load_intern_vit<presets::Dynamic, backend::cpu>(demo(reference.at("model")));
  const heads::ClassificationHead<backend::cpu> head(demo(reference.at("head")), model.config());
  std::vector<std::string> files;
  std::vector<index_t> truth;
  for (const auto& row : read_rows(demo("digits/labels.txt"))) {
    files.push_back(demo("digits/" + row.at(0)));
    truth.push_back(std::stol(row.at(1)));
  }
  const Tensor<float, 4> pixels = io::load_batch(files, io::Pipeline::classification, model.config().image_size);
  Context<backend::cpu> ctx;
  const Tensor<float, 2> probabilities = head.probabilities(ctx, model, pixels.view());
  index_t correct = 0;
  for (index_t i = 0; i < pixels.size(0); ++i) {
    correct += heads::top_k(probabilities.view()[i], 1).front().first == truth[static_cast<std::size_t>(i)];
  }
  const double top1 = static_cast<double>(correct) / static_cast<double>(truth.size());
  const double expected = reference.at("top1").get<double>();
  INFO("C++ top-1 " << 100 * top1 << "% (" << correct << "/" << truth.size() << "), PyTorch " << 100 * expected << "%");
  CHECK(std::abs(top1 - expected) <= 0.005);
  CHECK(top1 >= 0.95);
}

TEST_CASE("demo scenes: the C++ segmentation heads' held-out mIoU matches PyTorch", "[demo]") {
  const nlohmann::json reference = io::read_json_file(demo("reference_results.json")).at("scenes");
  auto model = models::load_intern_vit<presets::Dynamic, backend::cpu>(demo(reference.at("model")));
  const auto scenes = read_rows(demo("scenes/list.txt"));
  Context<backend::cpu> ctx;
  for (const std::string name : {"linear", "upernet"}) {
    const nlohmann::json& expected = reference.at("heads").at(name);
    const heads::SegmentationHead<backend::cpu> head(demo(expected.at("head")), model.config());
    const auto classes = static_cast<std::size_t>(head.num_classes());
    std::vector<double> intersection(classes, 0.0), union_(classes, 0.0);
    for (const auto& row : scenes) {
      const io::Image image = io::read_image(demo("scenes/" + row.at(0)));
      const io::Image truth = io::read_image(demo("scenes/" + row.at(1)));  // grey class indices, read as RGB
      const auto predicted =
          heads::argmax_classes(heads::segment(ctx, model, head, image.view(), heads::Inference::slide).view());
      REQUIRE(truth.size(0) == predicted.size(0));
      REQUIRE(truth.size(1) == predicted.size(1));
      std::vector<double> in_truth(classes + 1, 0.0), in_prediction(classes, 0.0), both(classes, 0.0);
      for (index_t y = 0; y < predicted.size(0); ++y) {
        for (index_t x = 0; x < predicted.size(1); ++x) {
          const auto t = std::min<std::size_t>(truth(y, x, 0), classes), p = static_cast<std::size_t>(predicted(y, x));
          in_truth[t] += 1, in_prediction[p] += 1, both[p] += t == p;
        }
      }
      REQUIRE(in_truth[classes] == 0);  // no true label out of range
      for (std::size_t k = 0; k < classes; ++k) {
        intersection[k] += both[k];
        union_[k] += in_truth[k] + in_prediction[k] - both[k];
      }
    }
    const double miou = mean_iou(intersection, union_), want = expected.at("miou").get<double>();
    INFO(name << " head: C++ mIoU " << 100 * miou << "%, PyTorch " << 100 * want << "%");
    CHECK(std::abs(miou - want) <= 0.005);
    CHECK(miou >= 0.80);
  }
}
