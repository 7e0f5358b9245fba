// Top-k accuracy of a classifier over a set (ImageNet's top-1 and top-5):
//   rank(image) = #{ classes c : p_c > p_t, or p_c = p_t and c < t }      t = the image's true class
//   top-k accuracy = #{ images with rank < k } / #images
// so an image counts as right at k exactly when top_k (top_k.hpp: ties to the lower index) lists its true
// class among the first k. Scores that are not finite (a NaN would rank first or nowhere) are an error.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "internvl/core/error.hpp"
#include "internvl/core/tensor_view.hpp"

namespace internvl::heads {

class TopKAccuracy {
 public:
  // One image's scores [K] (probabilities or logits) and its true class; `image` names the errors.
  void add(CView<float, 1> scores, index_t truth, const std::string& image) {
    const index_t classes = scores.size(0);
    INTERNVL_CHECK(truth >= 0 && truth < classes, image, "true class ", truth, " is not one of the ", classes,
                   " classes");
    const float right = scores(truth);
    index_t rank = 0;
    for (index_t c = 0; c < classes; ++c) {
      INTERNVL_CHECK(std::isfinite(scores(c)), image, "the score of class ", c, " is ", scores(c));
      rank += scores(c) > right || (scores(c) == right && c < truth) ? 1 : 0;
    }
    ranks_.push_back(rank);
  }

  index_t count() const { return static_cast<index_t>(ranks_.size()); }
  // The images whose true class is among their k best.
  index_t right_at(index_t k) const {
    index_t right = 0;
    for (const index_t rank : ranks_) {
      right += rank < k ? 1 : 0;
    }
    return right;
  }
  // right_at(k) / count(); NaN before the first image.
  double at(index_t k) const { return static_cast<double>(right_at(k)) / static_cast<double>(count()); }

 private:
  std::vector<index_t> ranks_;
};

}  // namespace internvl::heads
