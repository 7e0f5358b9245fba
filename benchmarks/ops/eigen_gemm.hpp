// Eigen's GEMM, bench_gemm's baseline, behind plain functions, in two builds, because Eigen picks its
// kernels at compile time and neither build is the faster one everywhere:
//   eigen_native    -march=native: on an Intel core with two 512-bit FMA units, twice the rate of
//                   256-bit FMAs;
//   eigen_baseline  the project's x86-64-v3 (AVX2 + FMA): on a Zen 4, whose 512-bit FMAs issue at
//                   the rate of two 256-bit ones, the faster of the two on one and two threads in
//                   every row of the interleaved runs of docs/gemm.md (2026-11-27).
// bench_gemm compares ours with the faster of the two (gemm_table.py). eigen_gemm.cpp is compiled once
// per build (benchmarks/ops/meson.build); the baseline build is a shared library whose Eigen code is
// hidden, so that the two builds' instantiations of Eigen's templates, alike in name and unlike in
// instructions, cannot be merged by the linker.
#pragma once

// Each build: set_threads(n) sets Eigen's thread count (OpenMP), false where it cannot use that many;
// gemm computes C[m, n] = A[m, k] · B[n, k]ᵀ, all row-major and dense; simd names the vector
// instruction sets the build uses (Eigen::SimdInstructionSetsInUse()).
namespace internvl::bench {
namespace eigen_native {
bool set_threads(int threads);
void gemm(const float* a, const float* b, float* c, long m, long k, long n);
const char* simd();
}  // namespace eigen_native
namespace eigen_baseline {
bool set_threads(int threads);
void gemm(const float* a, const float* b, float* c, long m, long k, long n);
const char* simd();
}  // namespace eigen_baseline
}  // namespace internvl::bench
