// The backend-generic part of the classify and segment examples: an InternViT model directory and a head
// file through heads::ClassificationHead / heads::SegmentationHead in the caller's context (on the cpu
// backend at the --precision that support/backend.hpp set there), the backbone in the backend's default
// activation type (f32 on the host backends, bf16 on CUDA) and the head in f32, returning host f32
// results. Free of Boost.Hana: the caller parses config.json, so the CUDA path (tasks_cuda.cu) compiles this with nvcc
// while classify.cpp and segment.cpp keep the host-only parts (arguments, images, output files). The host
// backends' instantiations are compiled once, in tasks_host.cpp, for every example program.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "internvl/heads/classification_head.hpp"
#include "internvl/heads/segmenter.hpp"
#include "internvl/models/vision_loader.hpp"
#include "support/batches.hpp"

namespace internvl::examples {

struct HeadJob {
  std::shared_ptr<const io::ModelDir> dir;
  config::VisionConfig config;  // of dir's config.json
  std::string head;             // the head file
};

// Loads the model and the head once, then hands `sink` the class logits of batch after batch (the caller
// keeps the classes it evaluates and takes their softmax): memory holds one batch's images and activations,
// however many images there are.
template <class Backend>
void classify(Context<Backend>& ctx, const HeadJob& job, const PixelBatches& batches, const ClassLogitsSink& sink) {
  using T = default_activation_t<Backend>;
  auto model = models::load_vision_encoder<Backend, T>(job.dir, job.config);
  const heads::ClassificationHead<Backend, T> head(job.head, job.config);
  while (const std::optional<CView<float, 4>> pixels = batches()) {
    const Tensor<float, 2> logits = head.host_logits(ctx, model, *pixels);
    sink(logits.view());
  }
}

// Loads the model and the head once, then hands `sink` the logits [K, H, W] of each RGB image [H, W, 3]
// of `images`, at the image's own size (heads/segmenter.hpp).
template <class Backend>
void segment(Context<Backend>& ctx, const HeadJob& job, const ImageSource& images, heads::Inference mode,
             const LogitsSink& sink) {
  using T = default_activation_t<Backend>;
  auto model = models::load_vision_encoder<Backend, T>(job.dir, job.config);
  const heads::SegmentationHead<Backend, T> head(job.head, job.config);
  while (const std::optional<io::ImageView> image = images()) {
    const Tensor<float, 3> logits = heads::segment(ctx, model, head, *image, mode);
    sink(logits.view());
  }
}

extern template void classify(Context<backend::reference>&, const HeadJob&, const PixelBatches&,
                              const ClassLogitsSink&);
extern template void classify(Context<backend::cpu>&, const HeadJob&, const PixelBatches&, const ClassLogitsSink&);
extern template void segment(Context<backend::reference>&, const HeadJob&, const ImageSource&, heads::Inference,
                             const LogitsSink&);
extern template void segment(Context<backend::cpu>&, const HeadJob&, const ImageSource&, heads::Inference,
                             const LogitsSink&);

// classify and segment on a Context<backend::cuda> of GPU 0, run by the CUDA tasks module
// (tasks_cuda.cu, built when CUDA is enabled), which cuda_tasks.cpp loads on the first call.
void classify_cuda(const HeadJob& job, const PixelBatches& batches, const ClassLogitsSink& sink);
void segment_cuda(const HeadJob& job, const ImageSource& images, heads::Inference mode, const LogitsSink& sink);

}  // namespace internvl::examples
