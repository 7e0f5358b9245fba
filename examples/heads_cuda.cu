// The CUDA path of the classify and segment examples, their own translation unit so that nvcc never sees
// the Boost.Hana config parsing of classify.cpp and segment.cpp: the model and the head run in bf16 on
// device 0.
#include <cuda_runtime_api.h>

#include "internvl/cuda.hpp"
#include "support/head_tasks.hpp"

namespace internvl::examples {

namespace {

// Refuses, with the runtime's reason, before anything is loaded when this machine has no usable GPU.
void require_gpu() {
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  static_cast<void>(cudaGetLastError());  // a failed query leaves its error behind: clear it
  INTERNVL_CHECK(status == cudaSuccess && devices > 0, "--backend cuda", "no usable CUDA device (",
                 status != cudaSuccess ? cudaGetErrorString(status) : "none found", ")");
}

}  // namespace

Tensor<float, 2> classify_cuda(const HeadJob& job, CView<float, 4> pixels) {
  require_gpu();
  Context<backend::cuda> ctx;
  return classify(ctx, job, pixels);
}

Tensor<float, 3> segment_cuda(const HeadJob& job, io::ImageView image, heads::Inference mode) {
  require_gpu();
  Context<backend::cuda> ctx;
  return segment(ctx, job, image, mode);
}

}  // namespace internvl::examples
