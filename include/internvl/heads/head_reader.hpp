// HeadReader: reads a head file's tensors into the WeightStore of a backend computing in T
// (models/weight_store.hpp): matrices and convolution kernels stay in their stored dtype on the host
// (zero-copy) and are converted to T on CUDA; vectors and BatchNorm statistics become f32. Every tensor
// is shape-checked; errors name the file and tensor.
#pragma once

#include <memory>
#include <string>

#include "internvl/heads/head_file.hpp"
#include "internvl/models/weight_store.hpp"
#include "internvl/ops/batch_norm.hpp"

namespace internvl::heads {

template <class Backend, class T = default_activation_t<Backend>>
class HeadReader {
 public:
  HeadReader(const HeadFile& file, models::WeightStore<Backend, T>& store) : file_(file), store_(store) {}

  const HeadFile& file() const { return file_; }

  template <std::size_t R>
  WeightView<R> matrix(const std::string& name, const Extents<R>& shape) {
    return store_.matrix(file_.weight(name, shape));
  }
  CView<float, 1> vector(const std::string& name, index_t length) {
    return store_.table(file_.weight(name, Extents<1>{length}));
  }
  // `prefix`.{weight, bias, running_mean, running_var} of a BatchNorm over `channels`. A variance must
  // be a number ≥ 0 (a negative one would make the normalised features NaN, silently).
  ops::BatchNormParams batch_norm(const std::string& prefix, index_t channels, float eps) {
    const ops::BatchNormParams params{.running_mean = vector(prefix + ".running_mean", channels),
                                      .running_var = vector(prefix + ".running_var", channels),
                                      .weight = vector(prefix + ".weight", channels),
                                      .bias = vector(prefix + ".bias", channels),
                                      .eps = eps};
    const std::string variance = prefix + ".running_var";
    file_.weight(variance, Extents<1>{channels}).visit([&]<class U>(CView<U, 1> values) {
      for (index_t c = 0; c < channels; ++c) {
        const auto v = static_cast<float>(values(c));
        INTERNVL_CHECK(v >= 0.0f, file_.path(), "tensor '", variance, "' holds ", v, " at [", c,
                       "]: a variance must be a number of at least 0");
      }
    });
    return params;
  }

 private:
  const HeadFile& file_;
  models::WeightStore<Backend, T>& store_;
};

}  // namespace internvl::heads
