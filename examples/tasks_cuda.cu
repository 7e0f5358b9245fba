// The example programs' tasks on a Context<backend::cuda> of GPU 0 (bf16), compiled once by nvcc for all of
// them, in a translation unit of its own so that nvcc never sees the programs' Boost.Hana config parsing.
// Each refuses, with the runtime's reason, before anything is loaded when the machine has no usable GPU.
// The InternVL-C/G tasks need the tokenizer (libsentencepiece): INTERNVL_EXAMPLES_TEXT is set where the
// build has it.
#include <cuda_runtime_api.h>

#include "internvl/cuda.hpp"
#include "support/extract_features.hpp"
#include "support/head_tasks.hpp"
#if INTERNVL_EXAMPLES_TEXT
#include "support/internvl_tasks.hpp"
#endif

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

}  // namespace

double extract_features_cuda(const ExtractRequest& request, const PixelBatches& batches, const FeatureSink& sink) {
  auto ctx = gpu_context();
  return extract_features(ctx, request, batches, sink);
}

void classify_cuda(const HeadJob& job, const PixelBatches& batches, const ProbabilitySink& sink) {
  auto ctx = gpu_context();
  classify(ctx, job, batches, sink);
}

void segment_cuda(const HeadJob& job, const ImageSource& images, heads::Inference mode, const LogitsSink& sink) {
  auto ctx = gpu_context();
  segment(ctx, job, images, mode, sink);
}

#if INTERNVL_EXAMPLES_TEXT
Embeddings embed_cuda(const InternVLJob& job, const PixelBatches& images) {
  auto ctx = gpu_context();
  return embed(ctx, job, images);
}

void zero_shot_cuda(const InternVLJob& job, const PixelBatches& batches, const ProbabilitySink& sink) {
  auto ctx = gpu_context();
  zero_shot(ctx, job, batches, sink);
}

void caption_cuda(const InternVLJob& job, const PixelBatches& batches, const CaptionSink& sink) {
  auto ctx = gpu_context();
  caption(ctx, job, batches, sink);
}
#endif

}  // namespace internvl::examples
