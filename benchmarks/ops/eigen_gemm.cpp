// Eigen's GEMM for bench_gemm, compiled once per build (eigen_gemm.hpp): INTERNVL_EIGEN_BUILD names
// the namespace (eigen_native or eigen_baseline), and the functions stay visible when the rest of the
// build's code is hidden.
#include "eigen_gemm.hpp"

#include <Eigen/Core>

namespace internvl::bench::INTERNVL_EIGEN_BUILD {

[[gnu::visibility("default")]] bool set_threads(int threads) {
  Eigen::setNbThreads(threads);
  return Eigen::nbThreads() == threads;
}

[[gnu::visibility("default")]] void gemm(const float* a, const float* b, float* c, long m, long k, long n) {
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Map<const Matrix> am(a, m, k);
  const Eigen::Map<const Matrix> bm(b, n, k);
  Eigen::Map<Matrix> cm(c, m, n);
  cm.noalias() = am * bm.transpose();
}

[[gnu::visibility("default")]] const char* simd() { return Eigen::SimdInstructionSetsInUse(); }

}  // namespace internvl::bench::INTERNVL_EIGEN_BUILD
