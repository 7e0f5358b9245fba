// The example programs' CUDA tasks, as a table of function pointers. tasks_cuda.cu is built as a module of
// its own (internvl_tasks_cuda.so, beside the programs) that exports the table, and cuda_tasks.cpp loads it
// the first time a program runs --backend cuda. So a program on the host backends never loads the CUDA
// runtime, cuBLAS and cuBLASLt: their initialisation costs about 200 MB and most of a second even for
// --help, and a machine without them could not start the program at all.
//   CudaTasks                        one entry per task, each on a Context<backend::cuda> of GPU 0 (bf16)
//   cuda_tasks_module                the module's file name, in the programs' directory
//   cuda_tasks_symbol                the name of the module's extern "C" function that returns the table
// The module and the programs come from one build, with the same INTERNVL_EXAMPLES_TEXT.
#pragma once

#include "extract_features.hpp"
#include "head_tasks.hpp"
#if INTERNVL_EXAMPLES_TEXT
#include "internvl_tasks.hpp"
#endif

namespace internvl::examples {

struct CudaTasks {
  double (*extract_features)(const ExtractRequest& request, const PixelBatches& batches, const FeatureSink& sink);
  void (*classify)(const HeadJob& job, const PixelBatches& batches, const ClassLogitsSink& sink);
  void (*segment)(const HeadJob& job, const ImageSource& images, heads::Inference mode, const LogitsSink& sink);
#if INTERNVL_EXAMPLES_TEXT
  Embeddings (*embed)(const InternVLJob& job, const PixelBatches& images);
  void (*zero_shot)(const InternVLJob& job, const PixelBatches& batches, const ImageEmbeddingSink& sink);
  void (*caption)(const InternVLJob& job, const PixelBatches& batches, const CaptionSink& sink);
#endif
};

inline constexpr const char* cuda_tasks_module = "internvl_tasks_cuda.so";
inline constexpr const char* cuda_tasks_symbol = "internvl_examples_cuda_tasks";

}  // namespace internvl::examples
