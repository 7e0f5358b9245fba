// heads::SegmentationEvaluation against mmseg's metrics transcribed in numpy
// (tests/golden/heads/make_seg_metrics.py): per-class IoU and accuracy, aAcc, mIoU and mAcc of small
// evaluations with ignored pixels, with ADE20K's reduce_zero_label, and with a class that is nowhere (NaN,
// left out of the means) and one that is predicted but never true; plus the errors of bad input.
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "internvl/heads/segmentation_metrics.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

template <class T>
Tensor<T, 2> matrix(const nlohmann::json& rows) {
  const auto height = static_cast<index_t>(rows.size()), width = static_cast<index_t>(rows.at(0).size());
  Tensor<T, 2> m(Extents<2>{height, width});
  for (index_t y = 0; y < height; ++y) {
    for (index_t x = 0; x < width; ++x) {
      m(y, x) = rows.at(static_cast<std::size_t>(y)).at(static_cast<std::size_t>(x)).get<T>();
    }
  }
  return m;
}

// A score against the fixture's value, where null stands for NaN.
void check_score(double actual, const nlohmann::json& expected, const std::string& what) {
  INFO(what << ": " << actual << " against " << expected);
  if (expected.is_null()) {
    CHECK(std::isnan(actual));
  } else {
    CHECK(actual == Approx(expected.get<double>()).epsilon(1e-12));
  }
}

}  // namespace

TEST_CASE("SegmentationEvaluation scores as mmseg does", "[segmentation_metrics]") {
  std::ifstream in(testing::golden_path("heads/seg_metrics.json"));
  REQUIRE(in.good());
  const nlohmann::json cases = nlohmann::json::parse(in);
  REQUIRE(cases.size() == 3);
  for (const auto& [name, c] : cases.items()) {
    INFO("case " << name);
    heads::SegmentationEvaluation evaluation(c.at("num_classes").get<index_t>(), c.at("ignore_index").get<int>(),
                                             c.at("reduce_zero_label").get<bool>());
    for (const nlohmann::json& image : c.at("images")) {
      const auto predicted = matrix<std::int32_t>(image.at("predicted"));
      const auto labels = matrix<std::uint8_t>(image.at("labels"));
      evaluation.add(CView<std::int32_t, 2>(predicted.view()), CView<std::uint8_t, 2>(labels.view()), name);
    }
    const heads::SegmentationScores s = evaluation.scores();
    const nlohmann::json& expected = c.at("expected");
    REQUIRE(s.iou.size() == expected.at("iou").size());
    for (std::size_t k = 0; k < s.iou.size(); ++k) {
      check_score(s.iou[k], expected.at("iou").at(k), "IoU of class " + std::to_string(k));
      check_score(s.accuracy[k], expected.at("accuracy").at(k), "Acc of class " + std::to_string(k));
    }
    check_score(s.all_accuracy, expected.at("all_accuracy"), "aAcc");
    check_score(s.mean_iou, expected.at("mean_iou"), "mIoU");
    check_score(s.mean_accuracy, expected.at("mean_accuracy"), "mAcc");
  }
}

TEST_CASE("SegmentationEvaluation: bad input is an error naming the mask and the pixel", "[segmentation_metrics]") {
  Tensor<std::int32_t, 2> predicted(Extents<2>{2, 3}, 0);
  Tensor<std::uint8_t, 2> labels(Extents<2>{2, 3}, 1);
  const auto add = [&](heads::SegmentationEvaluation& e) {
    e.add(CView<std::int32_t, 2>(predicted.view()), CView<std::uint8_t, 2>(labels.view()), "m.png");
  };
  heads::SegmentationEvaluation three(3);
  REQUIRE_NOTHROW(add(three));
  labels(1, 2) = 3;
  CHECK_THROWS_WITH(add(three), Catch::Contains("m.png: pixel (2, 1) has label 3, which is no class (0 to 2) and "
                                                "not the ignore index 255"));
  heads::SegmentationEvaluation ade(3, 255, /*reduce_zero_label=*/true);  // labels 1..3 are the classes
  REQUIRE_NOTHROW(add(ade));
  labels(1, 2) = 4;
  CHECK_THROWS_WITH(add(ade), Catch::Contains("pixel (2, 1) has label 4, which is no class (1 to 3)"));
  labels(1, 2) = 1;
  predicted(0, 1) = 3;
  CHECK_THROWS_WITH(add(three), Catch::Contains("predicted class 3 at (1, 0) of m.png's image is not one of the 3"));
  predicted(0, 1) = 0;
  const Tensor<std::uint8_t, 2> wide(Extents<2>{2, 4}, 0);
  CHECK_THROWS_WITH(three.add(CView<std::int32_t, 2>(predicted.view()), CView<std::uint8_t, 2>(wide.view()), "w.png"),
                    Catch::Contains("w.png: the mask is 4x2 pixels, the image 3x2"));
  CHECK_THROWS_WITH(heads::SegmentationEvaluation(0), Catch::Contains("needs at least one class, got 0"));
  // Nothing counted: every score is NaN.
  const heads::SegmentationScores none = heads::SegmentationEvaluation(2).scores();
  CHECK((std::isnan(none.mean_iou) && std::isnan(none.mean_accuracy) && std::isnan(none.all_accuracy)));
}
