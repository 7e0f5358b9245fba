// The example programs' tasks on a Context<backend::cuda> of GPU 0 (bf16 backbones), compiled once by nvcc for all of
// them, in a translation unit of its own so that nvcc never sees the programs' Boost.Hana config parsing.
// It is built as a module (internvl_tasks_cuda.so) whose one exported symbol returns the table of tasks
// (support/cuda_tasks.hpp); the programs load it only for --backend cuda (cuda_tasks.cpp).
// Each task refuses, with the runtime's reason, before anything is loaded when the machine has no usable GPU.
// The InternVL-C/G tasks need the tokenizer (libsentencepiece): INTERNVL_EXAMPLES_TEXT is set where the
// build has it.
#include <cuda_runtime_api.h>

#include <string_view>

#include "internvl/cuda.hpp"
#include "support/cuda_tasks.hpp"

namespace internvl::examples {

namespace {

Context<backend::cuda> gpu_context() {
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  static_cast<void>(cudaGetLastError());  // a failed query leaves its error behind: clear it
  INTERNVL_CHECK(status == cudaSuccess && devices > 0, "--backend cuda", "no usable CUDA device (",
                 status != cudaSuccess ? cudaGetErrorString(status) : "none found", ")");
  return Context<backend::cuda>();
}

double extract_features_on_gpu(const ExtractRequest& request, const PixelBatches& batches, const FeatureSink& sink) {
  auto ctx = gpu_context();
  return extract_features(ctx, request, batches, sink);
}

void classify_on_gpu(const HeadJob& job, const PixelBatches& batches, const ClassLogitsSink& sink) {
  auto ctx = gpu_context();
  classify(ctx, job, batches, sink);
}

// The segmentation heads' convolutions multiply their f32 operands as TF32, as the official evaluation's
// (PyTorch's cuDNN convolutions, torch.backends.cudnn.allow_tf32 by default): a full-size UperNet costs
// about 5.7 TFLOP per 504-pixel window, a third of the backbone's 16, and at an H100's or H200's peak rates
// exact f32 (67 TFLOP/s) would make it take about five times as long as the backbone in bf16 (990 TFLOP/s).
void segment_on_gpu(const HeadJob& job, const ImageSource& images, heads::Inference mode, const LogitsSink& sink) {
  auto ctx = gpu_context();
  ctx.set_f32_products(cuda::F32Products::tf32);
  segment(ctx, job, images, mode, sink);
}

#if INTERNVL_EXAMPLES_TEXT
Embeddings embed_on_gpu(const InternVLJob& job, const PixelBatches& images) {
  auto ctx = gpu_context();
  return embed(ctx, job, images);
}

void zero_shot_on_gpu(const InternVLJob& job, const PixelBatches& batches, const ImageEmbeddingSink& sink) {
  auto ctx = gpu_context();
  zero_shot(ctx, job, batches, sink);
}

void caption_on_gpu(const InternVLJob& job, const PixelBatches& batches, const CaptionSink& sink) {
  auto ctx = gpu_context();
  caption(ctx, job, batches, sink);
}
#endif

}  // namespace

}  // namespace internvl::examples

// The module's only exported symbol (it is compiled with hidden visibility).
static_assert(std::string_view(internvl::examples::cuda_tasks_symbol) == "internvl_examples_cuda_tasks");
extern "C" __attribute__((visibility("default"))) const internvl::examples::CudaTasks* internvl_examples_cuda_tasks() {
  using namespace internvl::examples;
  static const CudaTasks tasks {
    .extract_features = extract_features_on_gpu, .classify = classify_on_gpu, .segment = segment_on_gpu,
#if INTERNVL_EXAMPLES_TEXT
    .embed = embed_on_gpu, .zero_shot = zero_shot_on_gpu, .caption = caption_on_gpu,
#endif
  };
  return &tasks;
}
