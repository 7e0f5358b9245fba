// The CUDA path of the `extract` example, its own translation unit so that nvcc never sees extract.cpp's
// Boost.Hana config parsing: the model runs in bf16 on device 0.
#include "internvl/cuda.hpp"
#include "support/extract_features.hpp"

namespace internvl::examples {

ExtractResult extract_features_cuda(const ExtractRequest& request) {
  Context<backend::cuda> ctx;
  return extract_features(ctx, request);
}

}  // namespace internvl::examples
