// Zero-shot image-text retrieval with InternVL-C/G embeddings, scored the way CLIP-style papers and
// InternVL's clip_benchmark score it (Flickr30K, COCO):
//   score[t, i]   = text_t · image_i      for L2-normalised rows: texts [T, E], images [N, E]
//   text → image  the query is text t, the one right answer its image g(t)
//   image → text  the query is image i, the right answers every text t with g(t) = i (at least one)
//   rank(query)   = #{ wrong candidates c : score(query, c) > the best score of a right answer }
//   recall@K      = #{ queries with rank < K } / #queries      (a right answer among the K best)
// A wrong candidate that ties with the best right answer does not count against the query (torch.topk,
// which clip_benchmark ranks with, breaks ties in no documented order). The scores are computed
// `texts_per_block` texts at a time ([block, N] in the workspace, then on the host), in two passes over
// the texts: the first ranks each text's image and finds each image's best right score, the second counts
// for each image the wrong texts above it. Both passes compute the same blocks, so they see the same bits.
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

struct RetrievalRanks {
  std::vector<index_t> text_to_image;  // [T]: wrong images above text t's image
  std::vector<index_t> image_to_text;  // [N]: wrong texts above image i's best text
};

// The ranks of every query in both directions; image_of_text[t] = g(t), the row of `images` that text t
// describes. Errors name the text or image at fault: an index outside the images, an image without a
// text, a score that is not finite.
template <class Backend, class T>
RetrievalRanks retrieval_ranks(Context<Backend>& ctx, CView<T, 2> images, CView<T, 2> texts,
                               std::span<const index_t> image_of_text, index_t texts_per_block = 1024) {
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
  RetrievalRanks ranks{std::vector<index_t>(static_cast<std::size_t>(text_count), 0),
                       std::vector<index_t>(static_cast<std::size_t>(image_count), 0)};
  std::vector<float> best_right(static_cast<std::size_t>(image_count), -std::numeric_limits<float>::infinity());
  for_each_text([&](index_t t, std::span<const float> row) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      INTERNVL_CHECK(std::isfinite(row[i]), where, "the score of text ", t, " and image ", i, " is ", row[i],
                     " (embeddings that are not finite?)");
    }
    const auto image = static_cast<std::size_t>(image_of_text[static_cast<std::size_t>(t)]);
    const float right = row[image];
    ranks.text_to_image[static_cast<std::size_t>(t)] =
        std::count_if(row.begin(), row.end(), [&](float s) { return s > right; });
    best_right[image] = std::max(best_right[image], right);
  });
  for_each_text([&](index_t, std::span<const float> row) {  // a right text is never above its image's best
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (row[i] > best_right[i]) {
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
