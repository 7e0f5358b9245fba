// 05 · A head: the ImageNet linear probe on InternViT features, by hand, checked against the library's
// head. The one idea: a head is a few named tensors on top of one hidden state. A head file is a
// safetensors file with the official tensor names and a JSON description (metadata "internvl_head");
// the linear probe reads the last block's tokens X [1, 1 + N, D] and computes, with plain loops here,
//   f = [ X[0, 0, :], 1/N Σ_{s=1..N} X[0, s, :] ]       [2D]   class token, mean of the patch tokens
//   z = (f − μ) / sqrt(σ² + ε) · γ + β                   BatchNorm1d(2D) with its running statistics
//   logits = W z + b,  p = softmax(logits)               [K]    W [K, 2D]
// then compares p with heads::ClassificationHead, which runs the same head on the backend's ops.
//
//   build/examples/05_linear_probe_by_hand [MODEL_DIR HEAD_FILE IMAGE]
//   (default: the demo's digit classifier, demo/README.md, and one of its held-out digits)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/transfer.hpp"
#include "internvl/heads/classification_head.hpp"
#include "internvl/io/preprocess.hpp"
#include "internvl/io/to_f32.hpp"
#include "internvl/models/load_intern_vit.hpp"

using namespace internvl;

int main(int argc, char** argv) {
  const bool help = argc == 2 && std::string_view(argv[1]) == "--help";
  if (help || (argc != 1 && argc != 4)) {
    std::fprintf(help ? stdout : stderr, "usage: 05_linear_probe_by_hand [MODEL_DIR HEAD_FILE IMAGE]\n");
    return help ? 0 : 2;
  }
  const std::string dir = argc > 1 ? argv[1] : "demo/models/digits-vit";
  const std::string head_path = argc > 1 ? argv[2] : "demo/models/digits-linear-probe.safetensors";
  const std::string image = argc > 1 ? argv[3] : "demo/digits/0021.png";
  try {
    auto model = models::load_intern_vit<presets::Dynamic, backend::cpu>(dir);
    const index_t d = model.config().hidden_size;

    // The file: its description (type, classes, ε, labels) and its tensors by official name, as f32.
    const heads::HeadFile file(head_path);
    const heads::HeadDescription& desc = file.description();
    INTERNVL_CHECK(desc.type == heads::HeadType::linear_probe, head_path, "is a ", heads::name_of(desc.type),
                   " head; this example computes the linear probe");
    const index_t k = desc.num_classes;
    const auto vec = [&](const char* name) { return io::to_f32(file.weight(name, Extents<1>{2 * d})); };
    const Tensor<float, 1> mu = vec("norm.running_mean"), var = vec("norm.running_var"), gamma = vec("norm.weight"),
                           beta = vec("norm.bias");
    const Tensor<float, 2> w = io::to_f32(file.weight("head.weight", Extents<2>{k, 2 * d}));
    const Tensor<float, 1> b = io::to_f32(file.weight("head.bias", Extents<1>{k}));
    std::printf("%s: a %s head, %lld classes, BatchNorm eps %g, on the last of %d blocks of width %lld\n",
                head_path.c_str(), std::string(heads::name_of(desc.type)).c_str(), (long long)k, desc.bn_eps,
                model.config().num_hidden_layers, (long long)d);

    // The backbone once: the last hidden state X [1, 1 + N, D] on the host.
    const Tensor<float, 4> pixels = io::load_batch({image}, io::Pipeline::classification, model.config().image_size);
    Context<backend::cpu> ctx;
    Tensor<float, 3> x;
    const int last[] = {-1};
    model.forward(ctx, pixels.view(), last, [&](int, CView<float, 3> hidden) { x = to_host(ctx, hidden); });
    const index_t n = x.size(1) - 1;

    // f = [class token, mean patch token], then the BatchNorm, in double.
    std::vector<double> z(static_cast<std::size_t>(2 * d));
    for (index_t c = 0; c < d; ++c) {
      double mean = 0.0;
      for (index_t s = 1; s <= n; ++s) mean += x(0, s, c);
      z[c] = x(0, 0, c);
      z[d + c] = mean / static_cast<double>(n);
    }
    for (index_t c = 0; c < 2 * d; ++c) {
      z[c] = (z[c] - mu(c)) / std::sqrt(double(var(c)) + desc.bn_eps) * gamma(c) + beta(c);
    }
    // logits = W z + b, then a softmax (shifted by the maximum, so exp never overflows).
    std::vector<double> p(static_cast<std::size_t>(k));
    for (index_t j = 0; j < k; ++j) {
      double logit = b(j);
      for (index_t c = 0; c < 2 * d; ++c) logit += double(w(j, c)) * z[c];
      p[j] = logit;
    }
    const double top = *std::max_element(p.begin(), p.end());
    double total = 0.0;
    for (double& v : p) total += (v = std::exp(v - top));
    for (double& v : p) v /= total;

    // The library's head on the same pixels (a second backbone pass).
    const heads::ClassificationHead<backend::cpu> head(head_path, model.config());
    const Tensor<float, 2> library = head.probabilities(ctx, model, pixels.view());
    double worst = 0.0;
    for (index_t j = 0; j < k; ++j) worst = std::max(worst, std::abs(p[j] - library(0, j)));
    const auto best = static_cast<index_t>(std::max_element(p.begin(), p.end()) - p.begin());
    const std::string label = desc.labels.empty() ? std::to_string(best) : desc.labels[best];
    std::printf("%s: class %s with p = %.4f; by hand vs heads::ClassificationHead: max |Δp| = %.2e\n", image.c_str(),
                label.c_str(), p[best], worst);
    return worst < 1e-5 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
