// 02 · Attention from scratch. The one idea: for each head, scores = q·kᵀ/√Dh, a softmax over the keys
// (subtract the row maximum first so exp never overflows), then the scores weight the values. We write it
// with plain loops for InternViT-300M's shape (16 heads of 64), then compare with ops::attention, whose cpu
// version never builds the full score matrix (online softmax over blocks of keys).
//
//   build/examples/02_attention_from_scratch
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "internvl/backend/cpu/all.hpp"

using namespace internvl;

// out[s, h, :] = Σ_t softmax_t(q[s,h,:]·k[t,h,:] / √Dh) v[t, h, :]      q, k, v, out: [S, H, Dh]
void attention_by_hand(View<float, 3> out, CView<float, 3> q, CView<float, 3> k, CView<float, 3> v) {
  const index_t tokens = q.size(0), heads = q.size(1), head_dim = q.size(2);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  std::vector<float> p(static_cast<std::size_t>(tokens));
  for (index_t h = 0; h < heads; ++h) {
    for (index_t s = 0; s < tokens; ++s) {
      float row_max = -INFINITY;
      for (index_t t = 0; t < tokens; ++t) {  // scores
        float dot = 0.0f;
        for (index_t d = 0; d < head_dim; ++d) dot += q(s, h, d) * k(t, h, d);
        p[t] = dot * scale;
        row_max = std::max(row_max, p[t]);
      }
      float total = 0.0f;
      for (float& score : p) {  // softmax, numerically stable
        score = std::exp(score - row_max);
        total += score;
      }
      for (index_t d = 0; d < head_dim; ++d) {  // weighted sum of the values
        float acc = 0.0f;
        for (index_t t = 0; t < tokens; ++t) acc += p[t] * v(t, h, d);
        out(s, h, d) = acc / total;
      }
    }
  }
}

int main() {
  constexpr index_t S = 257, H = 16, Dh = 64;
  std::mt19937 gen(1);
  std::normal_distribution<float> normal;
  auto random = [&](Extents<3> shape) {
    Tensor<float, 3> t(shape);
    for (index_t i = 0; i < t.numel(); ++i) t.data()[i] = normal(gen);
    return t;
  };
  const Tensor<float, 3> q = random({S, H, Dh}), k = random({S, H, Dh}), v = random({S, H, Dh});
  Tensor<float, 3> mine(Extents<3>{S, H, Dh});
  attention_by_hand(mine.view(), q.view(), k.view(), v.view());

  // The library takes a batch dimension: [B, S, H, Dh] with B = 1.
  Tensor<float, 4> library(Extents<4>{1, S, H, Dh});
  Context<backend::cpu> ctx;
  const auto batch_of_one = [](const Tensor<float, 3>& t) { return CView<float, 4>(t.data(), Extents<4>{1, S, H, Dh}); };
  ops::attention(ctx, library.view(), batch_of_one(q), batch_of_one(k), batch_of_one(v),
                 ops::AttentionOptions{.scale = 1.0f / std::sqrt(static_cast<float>(Dh))});
  double diff = 0.0, norm = 0.0;
  for (index_t i = 0; i < mine.numel(); ++i) {
    diff += std::pow(double(library.data()[i]) - mine.data()[i], 2);
    norm += std::pow(double(mine.data()[i]), 2);
  }
  std::printf("attention by hand vs ops::attention (cpu): relative L2 difference %.2e\n", std::sqrt(diff / norm));
  return std::sqrt(diff / norm) < 1e-5 ? 0 : 1;
}
