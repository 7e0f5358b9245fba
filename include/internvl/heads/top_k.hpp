// top_k: the k most probable classes of a row of probabilities, as (class, probability) pairs, most
// probable first, ties to the lower class index (what a stable sort by probability gives). A NaN ranks
// above every number, as in torch.topk (and argmax_classes).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <utility>
#include <vector>

#include "internvl/core/tensor_view.hpp"

namespace internvl::heads {

// The k most probable classes of one probability row, most probable first (ties: lower index first).
inline std::vector<std::pair<index_t, float>> top_k(CView<float, 1> probabilities, index_t k) {
  std::vector<index_t> order(static_cast<std::size_t>(probabilities.size(0)));
  std::iota(order.begin(), order.end(), index_t{0});
  const auto count = static_cast<std::ptrdiff_t>(std::min<index_t>(std::max<index_t>(k, 0), probabilities.size(0)));
  std::partial_sort(order.begin(), order.begin() + count, order.end(), [&](index_t a, index_t b) {
    const float pa = probabilities(a), pb = probabilities(b);
    if (std::isnan(pa) || std::isnan(pb)) {  // NaN first: an order even then, which partial_sort needs
      return std::isnan(pa) && (!std::isnan(pb) || a < b);
    }
    return pa > pb || (pa == pb && a < b);
  });
  std::vector<std::pair<index_t, float>> best;
  for (std::ptrdiff_t i = 0; i < count; ++i) {
    best.emplace_back(order[static_cast<std::size_t>(i)], probabilities(order[static_cast<std::size_t>(i)]));
  }
  return best;
}

}  // namespace internvl::heads
