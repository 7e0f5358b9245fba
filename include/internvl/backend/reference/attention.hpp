// Reference attention: for each (batch, head, query) the full row of scores, a max-subtracted
// softmax and the weighted sum of values, accumulated in double.
#pragma once

#include <cmath>
#include <limits>
#include <vector>

#include "internvl/backend/reference/context.hpp"
#include "internvl/ops/attention.hpp"

namespace internvl::ops {

template <>
struct Attention<backend::reference> {
  static void run(Context<backend::reference>&, View<float, 4> out, CView<float, 4> q, CView<float, 4> k,
                  CView<float, 4> v, const AttentionOptions& options) {
    const index_t batch = q.size(0), queries = q.size(1), heads = q.size(2), head_dim = q.size(3);
    const index_t keys = k.size(1);
    std::vector<double> scores(static_cast<std::size_t>(keys));
    for (index_t b = 0; b < batch; ++b) {
      for (index_t h = 0; h < heads; ++h) {
        for (index_t i = 0; i < queries; ++i) {
          double max_score = -std::numeric_limits<double>::infinity();
          for (index_t j = 0; j < keys; ++j) {
            const bool visible = (!options.causal || j <= i + keys - queries) &&
                                 (options.key_mask.data() == nullptr || options.key_mask(b, j) != 0);
            double s = -std::numeric_limits<double>::infinity();
            if (visible) {
              s = 0.0;
              for (index_t d = 0; d < head_dim; ++d) {
                s += static_cast<double>(q(b, i, h, d)) * k(b, j, h, d);
              }
              s *= options.scale;
            }
            scores[static_cast<std::size_t>(j)] = s;
            max_score = std::max(max_score, s);
          }
          double total = 0.0;
          for (double& s : scores) {
            s = std::isinf(s) ? 0.0 : std::exp(s - max_score);
            total += s;
          }
          for (index_t d = 0; d < head_dim; ++d) {
            double acc = 0.0;
            for (index_t j = 0; j < keys; ++j) {
              acc += scores[static_cast<std::size_t>(j)] * v(b, j, h, d);
            }
            out(b, i, h, d) = total > 0.0 ? static_cast<float>(acc / total) : 0.0f;
          }
        }
      }
    }
  }
};

}  // namespace internvl::ops
