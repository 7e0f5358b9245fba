// The evaluation metrics against numpy (tests/golden/heads/make_metrics.py):
// heads::SegmentationEvaluation against mmseg's metrics transcribed there: per-class IoU and accuracy, aAcc,
// mIoU and mAcc of small evaluations with ignored pixels, with ADE20K's reduce_zero_label, and with a class
// that is nowhere (NaN, left out of the means) and one that is predicted but never true;
// heads::TopKAccuracy against the ranks of a stable sort, ties with the true class included, its mean per-class
// recall against scikit-learn's balanced accuracy transcribed there, and its ImageNet-ReaL scoring (several
// true classes per image) against the official RealLabelsImagenet's;
// plus the errors of bad input.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "internvl/heads/segmentation_metrics.hpp"
#include "internvl/heads/top_k.hpp"
#include "internvl/heads/top_k_accuracy.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

nlohmann::json fixtures() {
  std::ifstream in(testing::golden_path("heads/metrics.json"));
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

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

TEST_CASE("SegmentationEvaluation scores as mmseg does", "[metrics]") {
  const nlohmann::json cases = fixtures().at("segmentation");
  REQUIRE(cases.size() == 4);
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

TEST_CASE("SegmentationEvaluation: bad input is an error naming the mask and the pixel", "[metrics]") {
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

TEST_CASE("TopKAccuracy ranks the true class as top_k lists it", "[metrics]") {
  const nlohmann::json c = fixtures().at("top_k");
  const auto scores = matrix<float>(c.at("scores"));
  const auto truth = c.at("truth").get<std::vector<index_t>>();
  const auto ranks = c.at("ranks").get<std::vector<index_t>>();
  heads::TopKAccuracy accuracy;
  for (index_t i = 0; i < scores.size(0); ++i) {
    const CView<float, 1> row = CView<float, 2>(scores.view())[i];
    accuracy.add(row, truth[static_cast<std::size_t>(i)], "image " + std::to_string(i));
    // The rank is where top_k lists the true class.
    const auto listed = heads::top_k(row, scores.size(1));
    const auto at = std::find_if(listed.begin(), listed.end(),
                                 [&](const auto& kp) { return kp.first == truth[static_cast<std::size_t>(i)]; });
    CHECK(at - listed.begin() == ranks[static_cast<std::size_t>(i)]);
  }
  REQUIRE(accuracy.count() == 40);
  for (std::size_t i = 0; i < ranks.size(); ++i) {  // every rank, through right_at's counts
    CHECK(accuracy.right_at(ranks[i] + 1) - accuracy.right_at(ranks[i]) ==
          std::count(ranks.begin(), ranks.end(), ranks[i]));
  }
  CHECK(accuracy.at(1) == Approx(c.at("top1").get<double>()));
  CHECK(accuracy.at(5) == Approx(c.at("top5").get<double>()));
  CHECK(accuracy.at(12) == 1.0);
  CHECK(accuracy.single_label());
  CHECK(accuracy.mean_per_class_recall() == Approx(c.at("mean_per_class_recall").get<double>()));
}

TEST_CASE("TopKAccuracy scores ImageNet-ReaL's several true classes per image as the official evaluation",
          "[metrics]") {
  const nlohmann::json c = fixtures().at("real");
  const auto scores = matrix<float>(c.at("scores"));
  const auto truths = c.at("truths").get<std::vector<std::vector<index_t>>>();
  heads::TopKAccuracy accuracy;
  for (index_t i = 0; i < scores.size(0); ++i) {
    const auto& truth = truths[static_cast<std::size_t>(i)];
    if (!truth.empty()) {  // as RealLabelsImagenet, images without a ReaL label are not counted
      accuracy.add_any(CView<float, 2>(scores.view())[i], truth, "image " + std::to_string(i));
    }
  }
  REQUIRE(accuracy.count() == c.at("counted").get<index_t>());
  CHECK(accuracy.at(1) == Approx(c.at("top1").get<double>()));
  CHECK(accuracy.at(5) == Approx(c.at("top5").get<double>()));
  CHECK_FALSE(accuracy.single_label());
  CHECK_THROWS_WITH(accuracy.mean_per_class_recall(), Catch::Contains("one true class"));
}

TEST_CASE("TopKAccuracy: a true class outside the classes or a score that is not finite is an error", "[metrics]") {
  Tensor<float, 1> scores(Extents<1>{3}, 0.25f);
  heads::TopKAccuracy accuracy;
  CHECK_THROWS_WITH(accuracy.add(CView<float, 1>(scores.view()), 3, "a.png"),
                    Catch::Contains("a.png: true class 3 is not one of the 3 classes"));
  CHECK_THROWS_WITH(accuracy.add(CView<float, 1>(scores.view()), -1, "a.png"), Catch::Contains("true class -1"));
  CHECK_THROWS_WITH(accuracy.add_any(CView<float, 1>(scores.view()), std::vector<index_t>{0, 5}, "c.png"),
                    Catch::Contains("c.png: true class 5"));
  CHECK_THROWS_WITH(accuracy.add_any(CView<float, 1>(scores.view()), std::vector<index_t>{}, "d.png"),
                    Catch::Contains("d.png: has no true class"));
  scores(1) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(accuracy.add(CView<float, 1>(scores.view()), 0, "b.png"),
                    Catch::Contains("b.png: the score of class 1 is nan"));
  CHECK(accuracy.count() == 0);
}
