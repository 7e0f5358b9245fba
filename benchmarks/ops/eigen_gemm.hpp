// Eigen's GEMM, bench_gemm's baseline, behind a plain function: eigen_gemm.cpp is compiled for this
// machine's best vector instructions (-march=native, benchmarks/ops/meson.build) because Eigen picks
// its kernels at compile time. Built for the project's x86-64-v3 baseline it would run 256-bit FMAs:
// on an Intel core with two 512-bit FMA units, half the rate Eigen reaches when built for AVX-512.
// Nothing else in bench_gemm includes Eigen, so Eigen's code exists there in that one instruction set.
#pragma once

namespace internvl::bench {

// Sets Eigen's thread count (OpenMP); false where Eigen cannot use that many (built without OpenMP).
bool eigen_set_threads(int threads);

// C[m, n] = A[m, k] · B[n, k]ᵀ, all row-major and dense.
void eigen_gemm(const float* a, const float* b, float* c, long m, long k, long n);

// The vector instruction sets Eigen was compiled for (Eigen::SimdInstructionSetsInUse()).
const char* eigen_simd();

}  // namespace internvl::bench
