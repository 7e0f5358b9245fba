// The backend-generic part of the `extract` example: InternViT (and with `projector` the chat model's
// projector), loaded once, on each batch of host pixels [B, C, H, W] from a source (support/batches.hpp) in
// the caller's context (support/backend.hpp sets the cpu backend's --precision there), handing hidden
// state `layer` (default -1, or the projector's select_layer) or the visual tokens of each batch to a sink
// as host f32. Free of Boost.Hana: the caller parses config.json, so the CUDA path (tasks_cuda.cu) compiles
// this with nvcc while extract.cpp keeps the host-only parts. The host backends' instantiations are
// compiled once, in tasks_host.cpp, for every example program.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "internvl/backend/transfer.hpp"
#include "internvl/models/chat_projector.hpp"
#include "internvl/models/vision_loader.hpp"
#include "support/batches.hpp"

namespace internvl::examples {

struct ExtractRequest {
  std::shared_ptr<const io::ModelDir> dir;
  config::VisionConfig config;
  std::optional<int> layer;  // the hidden state to return; default: -1 or the projector's select_layer
  bool projector = false;    // return the chat projector's visual tokens instead
};

// Receives the features of each batch, [B, tokens, hidden] or [B, tokens/4, llm width], in order.
using FeatureSink = std::function<void(CView<float, 3>)>;

// Returns the milliseconds the forward passes took, from host pixels to host features.
template <class Backend>
double extract_features(Context<Backend>& ctx, const ExtractRequest& request, const PixelBatches& batches,
                        const FeatureSink& sink) {
  using T = default_activation_t<Backend>;
  using Clock = std::chrono::steady_clock;
  std::optional<models::ChatProjector<Backend, T>> projector;
  if (request.projector) {
    projector = models::ChatProjector<Backend, T>::load(request.dir);
  }
  const int wanted[] = {request.layer.value_or(projector ? projector->select_layer() : -1)};
  double encoder_ms = 0.0;
  models::visit_intern_vit<Backend, T>(request.dir, request.config, [&]<class Model>(Model& model) {
    std::fprintf(stderr, "model: %s (%s), backend %s\n", std::string(Model::preset_type::name).c_str(),
                 Model::is_compiled ? "compiled preset" : "runtime-shaped: no compiled preset matches config.json",
                 std::string(Backend::name).c_str());
    while (const std::optional<CView<float, 4>> pixels = batches()) {
      const auto start = Clock::now();
      auto scope = ctx.workspace().scope();
      Tensor<float, 3> features;
      model.forward(ctx, to_backend<T>(ctx, *pixels), wanted, [&](int, CView<T, 3> hidden) {
        if (!projector) {
          features = to_host(ctx, hidden);
          return;
        }
        auto inner = ctx.workspace().scope();
        View<T, 3> tokens = ctx.workspace().template tensor<T>(
            Extents<3>{hidden.size(0), (hidden.size(1) - 1) / 4, projector->output_width()});
        projector->forward(ctx, tokens, hidden);
        features = to_host(ctx, CView<T, 3>(tokens));
      });
      encoder_ms += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      sink(features.view());
    }
  });
  return encoder_ms;
}

extern template double extract_features(Context<backend::reference>&, const ExtractRequest&, const PixelBatches&,
                                        const FeatureSink&);
extern template double extract_features(Context<backend::cpu>&, const ExtractRequest&, const PixelBatches&,
                                        const FeatureSink&);

// extract_features on a Context<backend::cuda> of GPU 0, run by the CUDA tasks module
// (tasks_cuda.cu, built when CUDA is enabled), which cuda_tasks.cpp loads on the first call.
double extract_features_cuda(const ExtractRequest& request, const PixelBatches& batches, const FeatureSink& sink);

}  // namespace internvl::examples
