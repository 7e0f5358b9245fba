// The CUDA backend's foundation: the context, device memory, host <-> device copies, and the status
// checks that turn every failing CUDA / cuBLAS call or launch into an internvl::Error naming it.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include "cuda_testing.hpp"

using namespace internvl;
namespace gpu = internvl::cuda;

namespace {

__global__ void copy_kernel(float* out, const float* in, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) {
    out[i] = in[i];
  }
}

template <class T>
void check_round_trip(Context<backend::cuda>& ctx) {
  // Every bit pattern of interest survives the trip: signed zeros, subnormals, infinities, NaNs.
  const float values[] = {0.0f, -0.0f, 1.0f, -2.5f, 1e-40f, 6.0e-8f, std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(), 3.14159f,
                          65504.0f, -1e-5f};
  Tensor<T, 2> host(Extents<2>{3, 4});
  for (index_t i = 0; i < host.numel(); ++i) {
    host.data()[i] = T(values[i]);
  }
  const gpu::DeviceTensor<T, 2> device = gpu::upload(ctx, host.view());
  const Tensor<T, 2> back = gpu::download(ctx, device.view());
  REQUIRE(std::memcmp(back.data(), host.data(), sizeof(T) * static_cast<std::size_t>(host.numel())) == 0);
}

}  // namespace

TEST_CASE("the context creates its stream, handles and workspace once", "[cuda][context]") {
  Context<backend::cuda> ctx;
  REQUIRE(ctx.stream() != nullptr);
  REQUIRE(ctx.cublaslt() != nullptr);
  REQUIRE(ctx.cublas() != nullptr);
  REQUIRE(gpu::is_device_pointer(ctx.gemm_workspace()));
  REQUIRE(ctx.properties().major >= 8);  // the tensor-core kernels need sm_80 or newer
  INFO("device " << ctx.properties().name);

  auto& ws = ctx.workspace();
  for (int pass = 0; pass < 3; ++pass) {
    auto scope = ws.scope();
    View<bf16, 2> a = ws.tensor<bf16>(Extents<2>{257, 3200});
    View<float, 1> b = ws.tensor<float>(Extents<1>{12800});
    REQUIRE(gpu::is_device_pointer(a.data()));
    REQUIRE(gpu::is_device_pointer(b.data()));
  }
  const std::size_t allocations = ws.allocation_count();
  {
    auto scope = ws.scope();
    static_cast<void>(ws.tensor<bf16>(Extents<2>{257, 3200}));
  }
  REQUIRE(ws.allocation_count() == allocations);  // the second pass reuses the arena
  ctx.synchronize();
}

TEST_CASE("upload and download are bit exact for f32, bf16 and f16", "[cuda][context]") {
  Context<backend::cuda> ctx;
  check_round_trip<float>(ctx);
  check_round_trip<bf16>(ctx);
  check_round_trip<f16>(ctx);
}

TEST_CASE("a kernel launched through cuda::launch runs on the context's stream", "[cuda][context]") {
  Context<backend::cuda> ctx;
  const auto input = testing::random_tensor(Extents<1>{1000}, 11);
  const auto in = gpu::upload(ctx, input.view());
  auto out = testing::poisoned<float>(ctx, Extents<1>{1000});
  gpu::launch(ctx, "copy_kernel", copy_kernel, dim3(4), dim3(256), 0, out.data(), in.data(), 1000);
  const Tensor<float, 1> back = gpu::download(ctx, out.view());
  REQUIRE(testing::relative_l2(back.view(), input.view()) == 0.0);
}

TEST_CASE("poisoned device tensors hold NaN in every element", "[cuda][context]") {
  Context<backend::cuda> ctx;
  const auto t = testing::poisoned<bf16>(ctx, Extents<2>{3, 5});
  const Tensor<bf16, 2> back = gpu::download(ctx, t.view());
  for (index_t i = 0; i < back.numel(); ++i) {
    REQUIRE(std::isnan(static_cast<float>(back.data()[i])));
  }
}

TEST_CASE("failing CUDA and cuBLAS calls raise errors naming the call, file and line", "[cuda][context]") {
  REQUIRE_THROWS_WITH(INTERNVL_CUDA_CHECK(cudaSetDevice(1 << 20)),
                      Catch::Contains("cudaSetDevice(1 << 20) failed") && Catch::Contains("test_context.cu:") &&
                          Catch::Contains("cudaErrorInvalidDevice"));
  REQUIRE_THROWS_WITH(INTERNVL_CUBLAS_CHECK(cublasSetStream(nullptr, nullptr)),
                      Catch::Contains("cublasSetStream(nullptr, nullptr) failed") &&
                          Catch::Contains("CUBLAS_STATUS_"));
  Context<backend::cuda> ctx;
  float* none = nullptr;
  REQUIRE_THROWS_WITH(gpu::launch(ctx, "copy_kernel", copy_kernel, dim3(1), dim3(4096), 0, none, none, 0),
                      Catch::Contains("launch of copy_kernel failed") && Catch::Contains("launch.cuh:"));
  ctx.synchronize();  // a refused launch leaves the context usable
}

TEST_CASE("transfers reject mismatched shapes, strided views and host destinations", "[cuda][context]") {
  Context<backend::cuda> ctx;
  Tensor<float, 2> host(Extents<2>{4, 6}, 1.0f);
  gpu::DeviceTensor<float, 2> device(Extents<2>{4, 5});
  REQUIRE_THROWS_WITH(gpu::upload(ctx, host.view(), device.view()),
                      Catch::Contains("cuda::upload") && Catch::Contains("[4, 6]") && Catch::Contains("[4, 5]"));
  gpu::DeviceTensor<float, 2> wide(Extents<2>{4, 6});
  REQUIRE_THROWS_WITH(gpu::download(ctx, wide.view().slice(1, 0, 5)), Catch::Contains("must be contiguous"));
  Tensor<float, 2> other(Extents<2>{4, 6});
  REQUIRE_THROWS_WITH(gpu::upload(ctx, host.view(), other.view()), Catch::Contains("must point to device memory"));
}

TEST_CASE("to_backend and to_host convert and move strided tensors", "[cuda][context]") {
  Context<backend::cuda> ctx;
  const auto host = testing::random_tensor(Extents<2>{6, 10}, 21);
  const CView<float, 2> columns = host.view().slice(1, 2, 9);  // [6, 7], strided on the host
  const auto expected = [&](index_t first, index_t last) {      // columns [first, last) of `columns`, bf16-rounded
    Tensor<float, 2> t(Extents<2>{6, last - first});
    for (index_t i = 0; i < 6; ++i) {
      for (index_t j = first; j < last; ++j) {
        t(i, j - first) = static_cast<float>(bf16(columns(i, j)));
      }
    }
    return t;
  };
  auto scope = ctx.workspace().scope();
  const CView<bf16, 2> device = to_backend<bf16>(ctx, columns);
  REQUIRE(gpu::is_device_pointer(device.data()));
  REQUIRE(testing::relative_l2(to_host(ctx, device).view(), expected(0, 7).view()) == 0.0);
  REQUIRE(testing::relative_l2(to_host(ctx, device.slice(1, 1, 5)).view(), expected(1, 5).view()) == 0.0);
  const CView<float, 2> device32 = to_backend<float>(ctx, columns);
  REQUIRE(testing::relative_l2(to_host(ctx, device32.transpose(0, 1)).view(), columns.transpose(0, 1)) == 0.0);
}
