// 03 · One InternViT block, written out, checked against the library's block. The one idea: a block is
// two pre-norm residual branches with LayerScale,  x ← x + γ₁ ⊙ Attn(Norm₁(x)),  x ← x + γ₂ ⊙ MLP(Norm₂(x)),
// and every step is one op call. We load a checkpoint, take the embeddings (hidden state 0), run block 1
// by hand with ops, and compare with hidden state 1 computed by the library.
//
//   build/examples/03_vision_block [MODEL_DIR]      (default: the tiny 6B-style golden model)
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>

#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/transfer.hpp"
#include "internvl/models/load_intern_vit.hpp"

using namespace internvl;

int main(int argc, char** argv) {
  const bool help = argc == 2 && std::string_view(argv[1]) == "--help";
  if (help || argc > 2 || (argc == 2 && argv[1][0] == '-')) {
    std::fprintf(help ? stdout : stderr, "usage: 03_vision_block [MODEL_DIR]\n");
    return help ? 0 : 2;
  }
  const std::string dir = argc > 1 ? argv[1] : "tests/golden/vision/tiny6b_orig_f32";
  try {
    auto model = models::load_intern_vit<presets::Dynamic, backend::cpu>(dir);
    const config::VisionConfig& c = model.config();
    const models::VisionLayerWeights& w = model.weights().layers[0];
    const index_t side = c.image_size, d = c.hidden_size, h = c.num_attention_heads, dh = c.head_dim();
    Tensor<float, 4> pixels(Extents<4>{1, 3, side, side});
    for (index_t i = 0; i < pixels.numel(); ++i) pixels.data()[i] = std::sin(0.01f * static_cast<float>(i));

    Context<backend::cpu> ctx;
    Tensor<float, 3> embeddings, block1;
    const int states[] = {0, 1};
    model.forward(ctx, pixels.view(), states, [&](int k, CView<float, 3> hidden) {
      (k == 0 ? embeddings : block1) = to_host(ctx, hidden);
    });
    const index_t s = embeddings.size(1);
    const auto eps = static_cast<float>(c.layer_norm_eps);
    const auto norm = [&](View<float, 2> y, CView<float, 2> x, CView<float, 1> weight, CView<float, 1> bias) {
      if (c.norm_type == config::Norm::rms_norm) ops::rms_norm(ctx, y, x, weight, eps);
      else ops::layer_norm(ctx, y, x, weight, bias, eps);
    };

    Tensor<float, 2> x(Extents<2>{s, d}), n(Extents<2>{s, d}), qkv(Extents<2>{s, 3 * d}), o(Extents<2>{s, d}),
        branch(Extents<2>{s, d}), hidden(Extents<2>{s, c.intermediate_size});
    std::copy_n(embeddings.data(), x.numel(), x.data());
    // Attention branch: x ← x + γ₁ ⊙ proj(attention(q, k, v)) with q, k, v = Norm₁(x)·W_qkvᵀ
    norm(n.view(), x.view(), w.norm1_weight, w.norm1_bias);                                   // [S, D]
    layers::project_qkv(ctx, qkv.view(), CView<float, 2>(n.view()), w.qkv);                   // [S, 3D]
    View<float, 2> q = qkv.view().slice(1, 0, d), k = qkv.view().slice(1, d, 2 * d);
    if (c.qk_normalization) {                                  // over all D channels: across heads
      ops::rms_norm(ctx, q, CView<float, 2>(q), w.q_norm, eps);
      ops::rms_norm(ctx, k, CView<float, 2>(k), w.k_norm, eps);
    }
    const Extents<4> heads{1, s, h, dh}, qkv_strides{s * 3 * d, 3 * d, dh, 1};
    ops::attention(ctx, View<float, 4>(o.data(), heads), CView<float, 4>(qkv.data(), heads, qkv_strides),
                   CView<float, 4>(qkv.data() + d, heads, qkv_strides), CView<float, 4>(qkv.data() + 2 * d, heads, qkv_strides),
                   ops::AttentionOptions{.scale = 1.0f / std::sqrt(static_cast<float>(dh))});
    ops::linear(ctx, branch.view(), CView<float, 2>(o.view()), w.proj, w.proj_bias);          // [S, D]
    ops::scaled_residual_add(ctx, x.view(), CView<float, 2>(branch.view()), w.ls1);
    // MLP branch: x ← x + γ₂ ⊙ fc2(GELU(fc1(Norm₂(x))))
    norm(n.view(), x.view(), w.norm2_weight, w.norm2_bias);
    ops::linear(ctx, hidden.view(), CView<float, 2>(n.view()), w.fc1, w.fc1_bias, ops::Activation::gelu);  // [S, F]
    ops::linear(ctx, branch.view(), CView<float, 2>(hidden.view()), w.fc2, w.fc2_bias);       // [S, D]
    ops::scaled_residual_add(ctx, x.view(), CView<float, 2>(branch.view()), w.ls2);

    double diff = 0.0, total = 0.0;
    for (index_t i = 0; i < x.numel(); ++i) {
      diff += std::pow(double(x.data()[i]) - block1.data()[i], 2);
      total += std::pow(double(block1.data()[i]), 2);
    }
    std::printf("%s: block 1 by hand vs the library's hidden state 1: relative L2 difference %.2e\n", dir.c_str(),
                std::sqrt(diff / total));
    return std::sqrt(diff / total) < 1e-6 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
