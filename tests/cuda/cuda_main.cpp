// The Catch2 runner of the CUDA tests: exits 77 (Meson's "skipped") when this machine has no usable
// CUDA device, so `meson test` stays green on CPU-only machines; runs every test case otherwise
// (Catch2's session: tests/support/catch_runner.hpp).
#include <cuda_runtime_api.h>

#include <cstdio>

#include "catch_runner.hpp"

int main(int argc, char** argv) {
  int devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&devices);
  if (status != cudaSuccess || devices == 0) {
    std::printf("no usable CUDA device (%s): skipping\n",
                status != cudaSuccess ? cudaGetErrorName(status) : "device count is 0");
    return 77;
  }
  cudaDeviceProp properties{};
  if (cudaGetDeviceProperties(&properties, 0) == cudaSuccess) {
    std::printf("CUDA device 0: %s, compute capability %d.%d, %d SMs\n", properties.name, properties.major,
                properties.minor, properties.multiProcessorCount);
  }
  return internvl::testing::run_catch_session(argc, argv);
}
