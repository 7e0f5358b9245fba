// Eigen's GEMM for bench_gemm, compiled with -march=native (see eigen_gemm.hpp).
#include "eigen_gemm.hpp"

#include <Eigen/Core>

namespace internvl::bench {

bool eigen_set_threads(int threads) {
  Eigen::setNbThreads(threads);
  return Eigen::nbThreads() == threads;
}

void eigen_gemm(const float* a, const float* b, float* c, long m, long k, long n) {
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::Map<const Matrix> am(a, m, k);
  const Eigen::Map<const Matrix> bm(b, n, k);
  Eigen::Map<Matrix> cm(c, m, n);
  cm.noalias() = am * bm.transpose();
}

const char* eigen_simd() { return Eigen::SimdInstructionSetsInUse(); }

}  // namespace internvl::bench
