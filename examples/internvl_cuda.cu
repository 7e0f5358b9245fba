// The CUDA path of the zero_shot and embed examples, its own translation unit so that nvcc never sees
// their Boost.Hana config parsing: the model runs in bf16 on device 0.
#include "internvl/cuda.hpp"
#include "support/internvl_tasks.hpp"

namespace internvl::examples {

Embeddings embed_cuda(const InternVLJob& job) {
  Context<backend::cuda> ctx;
  return embed(ctx, job);
}

Tensor<float, 2> zero_shot_cuda(const InternVLJob& job) {
  Context<backend::cuda> ctx;
  return zero_shot(ctx, job);
}

}  // namespace internvl::examples
