// Top-k accuracy of a classifier over a set (ImageNet's top-1 and top-5), and its mean per-class recall:
//   rank(image, t) = #{ classes c : p_c > p_t, or p_c = p_t and c < t }      t = a true class of the image
//   rank(image)    = min over the image's true classes t of rank(image, t)
//   top-k accuracy = #{ images with rank < k } / #images
//   mean per-class recall = mean over the classes t that are some image's only true class of
//                           #{ images of class t with rank < 1 } / #{ images of class t }
// so an image counts as right at k exactly when top_k (top_k.hpp: ties to the lower index) lists one of its
// true classes among the first k. Most sets give each image one true class; ImageNet-ReaL gives a set of them
// (right when any is among the k best: the official evaluation's RealLabelsImagenet). The mean per-class
// recall is clip_benchmark's mean_per_class_recall (scikit-learn's balanced_accuracy_score of the top-1
// predictions: a class that is nobody's true class does not count), defined for sets of one true class per
// image. Scores that are not finite (a NaN would rank first or nowhere) are an error.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "internvl/core/error.hpp"
#include "internvl/core/tensor_view.hpp"

namespace internvl::heads {

class TopKAccuracy {
 public:
  // One image's scores [K] (probabilities or logits) and its true class; `image` names the errors.
  void add(CView<float, 1> scores, index_t truth, const std::string& image) {
    add_any(scores, std::span<const index_t>(&truth, 1), image);
  }

  // An image with one or more true classes (ImageNet-ReaL), right at k when any of them is among its k best.
  void add_any(CView<float, 1> scores, std::span<const index_t> truths, const std::string& image) {
    const index_t classes = scores.size(0);
    INTERNVL_CHECK(!truths.empty(), image, "has no true class");
    for (index_t c = 0; c < classes; ++c) {
      INTERNVL_CHECK(std::isfinite(scores(c)), image, "the score of class ", c, " is ", scores(c));
    }
    index_t best = classes;
    for (const index_t truth : truths) {
      INTERNVL_CHECK(truth >= 0 && truth < classes, image, "true class ", truth, " is not one of the ", classes,
                     " classes");
      const float right = scores(truth);
      index_t rank = 0;
      for (index_t c = 0; c < classes; ++c) {
        rank += scores(c) > right || (scores(c) == right && c < truth) ? 1 : 0;
      }
      best = std::min(best, rank);
    }
    images_.push_back({best, truths.size() == 1 ? truths[0] : index_t{-1}});
  }

  index_t count() const { return static_cast<index_t>(images_.size()); }
  // The images one of whose true classes is among their k best.
  index_t right_at(index_t k) const {
    return static_cast<index_t>(
        std::count_if(images_.begin(), images_.end(), [k](const Image& i) { return i.rank < k; }));
  }
  // right_at(k) / count(); NaN before the first image.
  double at(index_t k) const { return static_cast<double>(right_at(k)) / static_cast<double>(count()); }

  // Whether every image so far has one true class (mean_per_class_recall is defined).
  bool single_label() const {
    return std::none_of(images_.begin(), images_.end(), [](const Image& i) { return i.truth < 0; });
  }
  // The mean over the true classes of the share of their images that are right at top-1; NaN before the first
  // image. An error where an image has several true classes.
  double mean_per_class_recall() const {
    INTERNVL_CHECK(single_label(), "mean per-class recall", "is defined where each image has one true class");
    std::map<index_t, std::pair<index_t, index_t>> per_class;  // class -> (images right at top-1, images)
    for (const Image& image : images_) {
      auto& [right, total] = per_class[image.truth];
      right += image.rank < 1 ? 1 : 0;
      total += 1;
    }
    double sum = 0;
    for (const auto& [truth, counts] : per_class) {
      sum += static_cast<double>(counts.first) / static_cast<double>(counts.second);
    }
    return sum / static_cast<double>(per_class.size());
  }

 private:
  struct Image {
    index_t rank;   // of its best-ranked true class
    index_t truth;  // its true class, or -1 where it has several
  };
  std::vector<Image> images_;
};

}  // namespace internvl::heads
