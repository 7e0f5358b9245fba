// 04 · The whole InternViT. The one idea: a model directory (config.json + safetensors) becomes a typed
// model. config.json picks a compiled preset when one matches (statically checked shapes and parameter
// counts) or the runtime-shaped path otherwise; the forward pass hands back any hidden state you ask for,
// and pooled features are two lines of ops on it (the class token; the mean of the patch tokens).
//
//   build/examples/04_intern_vit [MODEL_DIR] [IMAGE]   (defaults: the tiny golden model, a synthetic image)
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>

#include "internvl/internvl.hpp"  // everything for host code; the narrower headers compile faster

using namespace internvl;

int main(int argc, char** argv) {
  const bool help = argc == 2 && std::string_view(argv[1]) == "--help";
  if (help || argc > 3 || (argc > 1 && argv[1][0] == '-')) {
    std::fprintf(help ? stdout : stderr, "usage: 04_intern_vit [MODEL_DIR] [IMAGE]\n");
    return help ? 0 : 2;
  }
  const std::string dir = argc > 1 ? argv[1] : "tests/golden/vision/tiny6b_orig_bf16";
  try {
    models::with_intern_vit<backend::cpu>(dir, [&]<class Model>(Model& model) {
      const config::VisionConfig& c = model.config();
      std::printf("%s: %s, %d blocks of width %d, %lld parameters (bf16 weights stay bf16 in the mapping)\n",
                  dir.c_str(), Model::is_compiled ? std::string(Model::preset_type::name).c_str() : "runtime-shaped",
                  c.num_hidden_layers, c.hidden_size, static_cast<long long>(model.parameter_count()));

      // Pixels [1, 3, S, S]: an image through the classification preprocessing, or a synthetic one.
      Tensor<float, 4> pixels(Extents<4>{1, 3, c.image_size, c.image_size});
      if (argc > 2) {
        pixels = io::load_batch({argv[2]}, io::Pipeline::classification, c.image_size);
      } else {
        for (index_t i = 0; i < pixels.numel(); ++i) pixels.data()[i] = std::cos(0.003f * static_cast<float>(i));
      }

      // The last hidden state and the 2nd-to-last, in one pass; blocks after the deepest are not run.
      Context<backend::cpu> ctx;
      const int states[] = {-2, -1};
      model.forward(ctx, pixels.view(), states, [&](int k, CView<float, 3> hidden) {  // hidden: [1, S, D]
        Tensor<float, 2> mean_patches(Extents<2>{1, hidden.size(2)});
        ops::mean_tokens(ctx, mean_patches.view(), hidden, 1, hidden.size(1));       // mean over tokens 1..S
        std::printf("hidden state %d: [%lld, %lld, %lld]  class token[0..3] = %+.4f %+.4f %+.4f  patch mean[0] = %+.4f\n",
                    k, (long long)hidden.size(0), (long long)hidden.size(1), (long long)hidden.size(2),
                    hidden(0, 0, 0), hidden(0, 0, 1), hidden(0, 0, 2), mean_patches(0, 0));
      });
    });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
