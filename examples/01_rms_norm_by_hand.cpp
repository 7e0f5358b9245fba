// 01 · RMSNorm by hand. The one idea: InternViT-6B's norm is y = w ⊙ x / sqrt(mean(x²) + ε), computed
// per token with the statistics in f32; we write it as a plain loop, then check it against the library's
// ops::rms_norm on the reference and cpu backends.
//
//   build/examples/01_rms_norm_by_hand
#include <cmath>
#include <cstdio>
#include <random>

#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"

using namespace internvl;

// y[i, :] = w ⊙ x[i, :] / sqrt(mean_j x[i, j]² + eps)
void rms_norm_by_hand(View<float, 2> y, CView<float, 2> x, CView<float, 1> w, float eps) {
  for (index_t i = 0; i < x.size(0); ++i) {
    float sum_of_squares = 0.0f;
    for (index_t j = 0; j < x.size(1); ++j) {
      sum_of_squares += x(i, j) * x(i, j);
    }
    const float inv_rms = 1.0f / std::sqrt(sum_of_squares / static_cast<float>(x.size(1)) + eps);
    for (index_t j = 0; j < x.size(1); ++j) {
      y(i, j) = w(j) * (x(i, j) * inv_rms);
    }
  }
}

int main() {
  constexpr index_t tokens = 257, width = 3200;  // InternViT-6B at 224 px: 256 patches + the class token
  Tensor<float, 2> x(Extents<2>{tokens, width});
  Tensor<float, 1> w(Extents<1>{width});
  std::mt19937 gen(0);
  std::normal_distribution<float> normal;
  for (index_t i = 0; i < x.numel(); ++i) x.data()[i] = 3.0f * normal(gen);
  for (index_t j = 0; j < width; ++j) w(j) = 1.0f + 0.1f * normal(gen);

  Tensor<float, 2> mine(x.shape()), reference(x.shape()), cpu(x.shape());
  rms_norm_by_hand(mine.view(), x.view(), w.view(), 1e-6f);
  Context<backend::reference> ref_ctx;
  Context<backend::cpu> cpu_ctx;
  ops::rms_norm(ref_ctx, reference.view(), x.view(), w.view(), 1e-6f);
  ops::rms_norm(cpu_ctx, cpu.view(), x.view(), w.view(), 1e-6f);

  const auto max_difference = [&](const Tensor<float, 2>& a) {
    double m = 0.0;
    for (index_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(double(a.data()[i]) - mine.data()[i]));
    return m;
  };
  std::printf("by hand vs reference backend: max |difference| = %.3g\n", max_difference(reference));
  std::printf("by hand vs cpu backend:       max |difference| = %.3g\n", max_difference(cpu));
  std::printf("(the differences are f32 rounding: the backends sum in another order or in double)\n");
  return max_difference(cpu) < 1e-4 ? 0 : 1;
}
