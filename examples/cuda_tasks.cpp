// The example programs' --backend cuda entry points (declared in support/*_tasks.hpp and
// support/extract_features.hpp): each forwards to the table of the CUDA tasks module (support/cuda_tasks.hpp),
// which the first call loads from the program's own directory. A module that was not built, or cannot be
// loaded (the CUDA libraries it needs are missing), is an Error naming the module (and the loader's reason).
#include "support/cuda_tasks.hpp"

#include <dlfcn.h>

#include <filesystem>

namespace internvl::examples {

namespace {

const CudaTasks& cuda_tasks() {
  static const CudaTasks* const tasks = [] {
    const auto path = std::filesystem::read_symlink("/proc/self/exe").parent_path() / cuda_tasks_module;
    INTERNVL_CHECK(std::filesystem::exists(path), "--backend cuda", "the CUDA tasks module ", path.string(),
                   " was not built (meson compile -C <build dir> internvl_tasks_cuda)");
    void* module = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    INTERNVL_CHECK(module != nullptr, "--backend cuda", "cannot load the CUDA tasks ", path.string(), " (", dlerror(),
                   ")");
    const auto entry = reinterpret_cast<const CudaTasks* (*)()>(dlsym(module, cuda_tasks_symbol));
    INTERNVL_CHECK(entry != nullptr, "--backend cuda", path.string(), " has no ", cuda_tasks_symbol);
    return entry();
  }();
  return *tasks;
}

}  // namespace

double extract_features_cuda(const ExtractRequest& request, const PixelBatches& batches, const FeatureSink& sink) {
  return cuda_tasks().extract_features(request, batches, sink);
}

void classify_cuda(const HeadJob& job, const PixelBatches& batches, const ClassLogitsSink& sink) {
  cuda_tasks().classify(job, batches, sink);
}

void segment_cuda(const HeadJob& job, const ImageSource& images, heads::Inference mode, const LogitsSink& sink) {
  cuda_tasks().segment(job, images, mode, sink);
}

#if INTERNVL_EXAMPLES_TEXT
Embeddings embed_cuda(const InternVLJob& job, const PixelBatches& images) { return cuda_tasks().embed(job, images); }

void zero_shot_cuda(const InternVLJob& job, const PixelBatches& batches, const ImageEmbeddingSink& sink) {
  cuda_tasks().zero_shot(job, batches, sink);
}

void caption_cuda(const InternVLJob& job, const PixelBatches& batches, const CaptionSink& sink) {
  cuda_tasks().caption(job, batches, sink);
}
#endif

}  // namespace internvl::examples
