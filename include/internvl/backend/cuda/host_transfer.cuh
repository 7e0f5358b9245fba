// Transfer<backend::cuda> (backend/transfer.hpp): how backend-generic code moves f32 host tensors to
// the GPU and results back, converting the element type on the way.
//   CView<bf16, 4> pixels = to_backend<bf16>(ctx, host_pixels);   // a copy in ctx.workspace(): valid while
//                                                                 // the caller's workspace scope lives
//   Tensor<float, 2> out = to_host(ctx, hidden);                  // any strided device view, widened to f32
//   CView<std::uint8_t, 2> mask = place_on_backend(ctx, host_mask); // unchanged element type, workspace copy
// Host views may be strided; a strided device view is first gathered into a dense workspace copy.
#pragma once

#include "internvl/backend/cuda/context.cuh"
#include "internvl/backend/cuda/launch.cuh"
#include "internvl/backend/cuda/native_types.cuh"
#include "internvl/backend/cuda/transfer.cuh"
#include "internvl/backend/transfer.hpp"

namespace internvl::cuda {

inline constexpr int kMaxGatherRank = 6;

struct StridedLayout {
  index_t shape[kMaxGatherRank];
  index_t strides[kMaxGatherRank];
  int rank;
};

// out[i] = in[offset of the i-th element in row-major order]
template <class NT>
__global__ void gather_kernel(NT* out, const NT* in, StridedLayout layout, index_t count) {
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<index_t>(gridDim.x) * blockDim.x) {
    index_t rest = i, offset = 0;
    for (int d = layout.rank - 1; d >= 0; --d) {
      offset += (rest % layout.shape[d]) * layout.strides[d];
      rest /= layout.shape[d];
    }
    out[i] = in[offset];
  }
}

}  // namespace internvl::cuda

namespace internvl {

template <>
struct Transfer<backend::cuda> {
  template <class T, std::size_t Rank>
  static CView<T, Rank> to_backend(Context<backend::cuda>& ctx, CView<float, Rank> host) {
    Tensor<T, Rank> converted(host.shape());
    T* out = converted.data();
    for_each_element(host, [&](const float& v) { *out++ = from_float<T>(v); });
    View<T, Rank> device = ctx.workspace().template tensor<T>(host.shape());
    cuda::upload(ctx, converted.view(), device);
    return device;
  }

  // A workspace copy. cudaMemcpyAsync from pageable memory returns once the data is staged, so `host`
  // may go away at once; the copy is ordered before the kernels enqueued after it on ctx's stream.
  template <class E, std::size_t Rank>
  static CView<E, Rank> place(Context<backend::cuda>& ctx, CView<E, Rank> host) {
    View<E, Rank> device = ctx.workspace().template tensor<E>(host.shape());
    if (host.numel() > 0) {
      INTERNVL_CUDA_CHECK(cudaMemcpyAsync(device.data(), host.data(),
                                          static_cast<std::size_t>(host.numel()) * sizeof(E), cudaMemcpyHostToDevice,
                                          ctx.stream()));
    }
    return device;
  }

  template <class T, std::size_t Rank>
  static Tensor<float, Rank> to_host(Context<backend::cuda>& ctx, CView<T, Rank> device) {
    static_assert(Rank <= cuda::kMaxGatherRank);
    auto scope = ctx.workspace().scope();
    CView<T, Rank> dense = device;
    if (!device.is_contiguous() && device.numel() > 0) {
      cuda::detail::check_on_device("to_host", "the tensor", device);
      cuda::StridedLayout layout{};
      layout.rank = static_cast<int>(Rank);
      for (std::size_t d = 0; d < Rank; ++d) {
        layout.shape[d] = device.size(static_cast<int>(d));
        layout.strides[d] = device.stride(static_cast<int>(d));
      }
      View<T, Rank> copy = ctx.workspace().template tensor<T>(device.shape());
      cuda::launch(ctx, "gather", cuda::gather_kernel<cuda::native_t<T>>, dim3(1024), dim3(256), 0,
                   cuda::native(copy.data()), cuda::native(device.data()), layout, device.numel());
      dense = copy;
    }
    const Tensor<T, Rank> host = cuda::download(ctx, dense);
    Tensor<float, Rank> out(host.shape());
    for (index_t i = 0; i < host.numel(); ++i) {
      out.data()[i] = static_cast<float>(host.data()[i]);
    }
    return out;
  }
};

}  // namespace internvl
