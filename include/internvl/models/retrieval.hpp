// Zero-shot image-text retrieval with InternVL-C/G embeddings, scored the way CLIP-style papers and
// InternVL's clip_benchmark score it (Flickr30K, COCO):
//   score[t, i]   = text_t · image_i      for L2-normalised rows: texts [T, E], images [N, E]
//   text → image  the query is text t, the one right answer its image g(t)
//   image → text  the query is image i, the right answers every text t with g(t) = i (at least one)
//   rank(query)   = #{ wrong candidates c : score(query, c) > the best score of a right answer }
//   recall@K      = #{ queries with rank < K } / #queries      (a right answer among the K best)
// A wrong candidate that ties with the best right answer does not count against the query (torch.topk,
// which clip_benchmark ranks with, breaks ties in no documented order).
// RetrievalScoring::dual_softmax ranks by the official video retrieval's scores instead
// (video_retrieval/test_msrvtt.py, use_dsl), each cosine weighted by its softmax over the other side:
//   text → image  score[t, i] · softmax over the texts t' of score[t', i]     (for each image, over T)
//   image → text  score[t, i] · softmax over the images i' of score[t, i']    (for each text, over N)
// (the softmax of the cosines themselves, no temperature). The scores are computed
// `texts_per_block` texts at a time ([block, N] in the workspace, then on the host), in two passes over
// the texts: the first ranks each text's image and finds each image's best right score, the second counts
// for each image the wrong texts above it. Both passes compute the same blocks, so they see the same bits;
// dual_softmax adds a pass before them for each image's softmax over the texts.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <vector>

#include "internvl/backend/transfer.hpp"
#include "internvl/core/error.hpp"
#include "internvl/ops/linear.hpp"

namespace internvl::models {

// out [A, B] = a [A, E] · b [B, E]ᵀ: cosine similarities when both hold unit rows.
template <class Backend, class T>
void similarity(Context<Backend>& ctx, View<T, 2> out, CView<T, 2> a, CView<T, 2> b) {
  ops::linear(ctx, out, a, WeightView<2>(b));
}

enum class RetrievalScoring { cosine, dual_softmax };

struct RetrievalRanks {
  std::vector<index_t> text_to_image;  // [T]: wrong images above text t's image
  std::vector<index_t> image_to_text;  // [N]: wrong texts above image i's best text
};

// The ranks of every query in both directions; image_of_text[t] = g(t), the row of `images` that text t
// describes. Errors name the text or image at fault: an index outside the images, an image without a
// text, a score that is not finite.
template <class Backend, class T>
RetrievalRanks retrieval_ranks(Context<Backend>& ctx, CView<T, 2> images, CView<T, 2> texts,
                               std::span<const index_t> image_of_text, index_t texts_per_block = 1024,
                               RetrievalScoring scoring = RetrievalScoring::cosine) {
  constexpr const char* where = "models::retrieval_ranks";
  const index_t image_count = images.size(0), text_count = texts.size(0);
  INTERNVL_CHECK(images.size(1) == texts.size(1), where, "the image embeddings are ", images.size(1),
                 " wide and the text embeddings ", texts.size(1));
  INTERNVL_CHECK(image_count > 0 && text_count > 0, where, "no images or no texts (", image_count, " images, ",
                 text_count, " texts)");
  INTERNVL_CHECK(static_cast<index_t>(image_of_text.size()) == text_count, where, image_of_text.size(),
                 " image indices for ", text_count, " texts");
  INTERNVL_CHECK(texts_per_block > 0, where, "texts_per_block must be at least 1, got ", texts_per_block);
  std::vector<index_t> texts_of_image(static_cast<std::size_t>(image_count), 0);
  for (index_t t = 0; t < text_count; ++t) {
    const index_t image = image_of_text[static_cast<std::size_t>(t)];
    INTERNVL_CHECK(image >= 0 && image < image_count, where, "text ", t, " describes image ", image, ", outside the ",
                   image_count, " images");
    ++texts_of_image[static_cast<std::size_t>(image)];
  }
  for (index_t i = 0; i < image_count; ++i) {
    INTERNVL_CHECK(texts_of_image[static_cast<std::size_t>(i)] > 0, where, "image ", i, " has no text");
  }

  // visit(t, row): the scores of text t against every image, for each text in order.
  const auto for_each_text = [&](auto visit) {
    for (index_t first = 0; first < text_count; first += texts_per_block) {
      const index_t last = std::min(text_count, first + texts_per_block);
      auto scope = ctx.workspace().scope();
      View<T, 2> scores = ctx.workspace().template tensor<T>(Extents<2>{last - first, image_count});
      similarity(ctx, scores, texts.slice(0, first, last), images);
      const Tensor<float, 2> host = to_host(ctx, CView<T, 2>(scores));
      for (index_t t = first; t < last; ++t) {
        visit(t,
              std::span<const float>(host.data() + (t - first) * image_count, static_cast<std::size_t>(image_count)));
      }
    }
  };
  const bool dual_softmax = scoring == RetrievalScoring::dual_softmax;
  // dual_softmax: each image's softmax over the texts, as its maximum and its sum of exp(score − maximum).
  std::vector<double> column_max(static_cast<std::size_t>(image_count), -std::numeric_limits<double>::infinity());
  std::vector<double> column_sum(static_cast<std::size_t>(image_count), 0.0);
  if (dual_softmax) {
    for_each_text([&](index_t, std::span<const float> row) {
      for (std::size_t i = 0; i < row.size(); ++i) {
        const double grown = std::max(column_max[i], static_cast<double>(row[i]));
        column_sum[i] = column_sum[i] * std::exp(column_max[i] - grown) + std::exp(row[i] - grown);
        column_max[i] = grown;
      }
    });
  }
  // The scores text t ranks the images by, and those by which each image ranks text t.
  std::vector<double> text_to_image(static_cast<std::size_t>(image_count)), image_to_text(text_to_image.size());
  const auto score_row = [&](std::span<const float> row) {
    if (!dual_softmax) {
      std::copy(row.begin(), row.end(), text_to_image.begin());
      std::copy(row.begin(), row.end(), image_to_text.begin());
      return;
    }
    const double row_max = *std::max_element(row.begin(), row.end());
    double row_sum = 0.0;
    for (const float s : row) {
      row_sum += std::exp(s - row_max);
    }
    for (std::size_t i = 0; i < row.size(); ++i) {
      const double s = row[i];
      text_to_image[i] = s * std::exp(s - column_max[i]) / column_sum[i];
      image_to_text[i] = s * std::exp(s - row_max) / row_sum;
    }
  };
  RetrievalRanks ranks{std::vector<index_t>(static_cast<std::size_t>(text_count), 0),
                       std::vector<index_t>(static_cast<std::size_t>(image_count), 0)};
  std::vector<double> best_right(static_cast<std::size_t>(image_count), -std::numeric_limits<double>::infinity());
  for_each_text([&](index_t t, std::span<const float> row) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      INTERNVL_CHECK(std::isfinite(row[i]), where, "the score of text ", t, " and image ", i, " is ", row[i],
                     " (embeddings that are not finite?)");
    }
    score_row(row);
    const auto image = static_cast<std::size_t>(image_of_text[static_cast<std::size_t>(t)]);
    const double right = text_to_image[image];
    ranks.text_to_image[static_cast<std::size_t>(t)] =
        std::count_if(text_to_image.begin(), text_to_image.end(), [&](double s) { return s > right; });
    best_right[image] = std::max(best_right[image], image_to_text[image]);
  });
  for_each_text([&](index_t, std::span<const float> row) {  // a right text is never above its image's best
    score_row(row);
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (image_to_text[i] > best_right[i]) {
        ++ranks.image_to_text[i];
      }
    }
  });
  return ranks;
}

// recall@k: the fraction of the queries whose rank is below k.
inline double recall_at(std::span<const index_t> ranks, index_t k) {
  INTERNVL_CHECK(k >= 1, "models::recall_at", "k must be at least 1, got ", k);
  INTERNVL_CHECK(!ranks.empty(), "models::recall_at", "no queries");
  const auto hits = std::count_if(ranks.begin(), ranks.end(), [&](index_t rank) { return rank < k; });
  return static_cast<double>(hits) / static_cast<double>(ranks.size());
}

}  // namespace internvl::models
