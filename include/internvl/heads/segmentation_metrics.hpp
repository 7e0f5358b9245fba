// Scores of semantic segmentation over a dataset, as mmseg computes them (intersect_and_union, then
// total_area_to_metrics), so that the numbers compare with the paper's ADE20K mIoU:
//   for each image, over the pixels whose true label t is not ignore_index, with p the predicted class:
//     intersect[k] += #{p = t = k}     predicted[k] += #{p = k}     truth[k] += #{t = k}
//   union[k] = predicted[k] + truth[k] − intersect[k]
//   IoU[k] = intersect[k] / union[k]   Acc[k] = intersect[k] / truth[k]   (NaN when the divisor is 0)
//   aAcc = Σ intersect / Σ truth       mIoU, mAcc = the mean of the IoU, Acc that are not NaN
// reduce_zero_label (ADE20K's masks, where 0 is "other" and classes are 1..150): labels 0 and 255 are
// ignored and every other label l becomes class l − 1, before the counting.
// A true label that is neither a class (0 .. K − 1) nor ignore_index is an error naming the mask and the
// pixel: mmseg's histograms would drop it from the truth while counting the prediction there.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "internvl/core/error.hpp"
#include "internvl/core/tensor.hpp"

namespace internvl::heads {

struct SegmentationScores {
  std::vector<double> iou;       // [K], NaN for a class neither predicted nor true anywhere
  std::vector<double> accuracy;  // [K], NaN for a class that is true nowhere
  double all_accuracy = 0;       // aAcc
  double mean_iou = 0;           // mIoU
  double mean_accuracy = 0;      // mAcc
};

class SegmentationEvaluation {
 public:
  explicit SegmentationEvaluation(index_t num_classes, int ignore_index = 255, bool reduce_zero_label = false)
      : ignore_index_(ignore_index),
        reduce_zero_label_(reduce_zero_label),
        intersect_(static_cast<std::size_t>(num_classes)),
        predicted_(intersect_.size()),
        truth_(intersect_.size()) {
    INTERNVL_CHECK(num_classes >= 1, "heads::SegmentationEvaluation", "needs at least one class, got ", num_classes);
  }

  // An error naming `mask` (the file of the labels) unless the labels are height × width and each one is a
  // class or ignored: what add() requires, for a caller that reads a mask before it has the prediction.
  void check(CView<std::uint8_t, 2> labels, index_t height, index_t width, const std::string& mask) const {
    INTERNVL_CHECK(labels.size(0) == height && labels.size(1) == width, mask, "the mask is ", labels.size(1), "x",
                   labels.size(0), " pixels, the image ", width, "x", height);
    const auto classes = static_cast<index_t>(intersect_.size());
    for (index_t y = 0; y < height; ++y) {
      for (index_t x = 0; x < width; ++x) {
        const int label = true_class(labels(y, x));
        INTERNVL_CHECK(label == ignore_index_ || label < classes, mask, "pixel (", x, ", ", y, ") has label ",
                       static_cast<int>(labels(y, x)), ", which is no class (", reduce_zero_label_ ? "1 to " : "0 to ",
                       reduce_zero_label_ ? classes : classes - 1, ") and not the ignore index ", ignore_index_);
      }
    }
  }

  // One image: its predicted classes [H, W] and true labels [H, W] (check()ed here).
  void add(CView<std::int32_t, 2> predicted, CView<std::uint8_t, 2> labels, const std::string& mask) {
    check(labels, predicted.size(0), predicted.size(1), mask);
    const auto classes = static_cast<index_t>(intersect_.size());
    for (index_t y = 0; y < labels.size(0); ++y) {
      for (index_t x = 0; x < labels.size(1); ++x) {
        const int label = true_class(labels(y, x));
        if (label == ignore_index_) {
          continue;
        }
        const std::int32_t p = predicted(y, x);
        INTERNVL_CHECK(p >= 0 && p < classes, "heads::SegmentationEvaluation", "predicted class ", p, " at (", x, ", ",
                       y, ") of ", mask, "'s image is not one of the ", classes, " classes");
        ++predicted_[static_cast<std::size_t>(p)];
        ++truth_[static_cast<std::size_t>(label)];
        intersect_[static_cast<std::size_t>(label)] += p == label ? 1 : 0;
      }
    }
  }

  SegmentationScores scores() const {
    constexpr double nan = std::numeric_limits<double>::quiet_NaN();
    SegmentationScores s;
    double all_intersect = 0, all_truth = 0;
    for (std::size_t k = 0; k < intersect_.size(); ++k) {
      const auto intersect = static_cast<double>(intersect_[k]), truth = static_cast<double>(truth_[k]);
      const double union_ = static_cast<double>(predicted_[k]) + truth - intersect;
      s.iou.push_back(union_ > 0 ? intersect / union_ : nan);
      s.accuracy.push_back(truth > 0 ? intersect / truth : nan);
      all_intersect += intersect;
      all_truth += truth;
    }
    s.all_accuracy = all_truth > 0 ? all_intersect / all_truth : nan;
    s.mean_iou = mean_of_numbers(s.iou);
    s.mean_accuracy = mean_of_numbers(s.accuracy);
    return s;
  }

 private:
  // The label a mask value stands for (reduce_zero_label: 0 and 255 are ignored, l is l − 1).
  int true_class(std::uint8_t value) const {
    if (!reduce_zero_label_) {
      return value;
    }
    return value == 0 || value == 255 ? ignore_index_ : value - 1;
  }

  static double mean_of_numbers(const std::vector<double>& values) {
    double sum = 0;
    int count = 0;
    for (const double v : values) {
      if (!std::isnan(v)) {
        sum += v;
        ++count;
      }
    }
    return count > 0 ? sum / count : std::numeric_limits<double>::quiet_NaN();
  }

  int ignore_index_;
  bool reduce_zero_label_;
  std::vector<std::int64_t> intersect_, predicted_, truth_;
};

}  // namespace internvl::heads
