// The element types under the names CUDA's headers give them. internvl::bf16 and internvl::f16 hold
// the same 16 bits as __nv_bfloat16 and __half, so launchers reinterpret pointers at the kernel
// boundary (native(p)) and kernels compute with CUDA's types and conversion intrinsics:
//   float -> bf16/f16 rounds to nearest even, exactly as the host conversions in core/dtype.hpp.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <library_types.h>

#include <type_traits>

#include "internvl/core/dtype.hpp"

namespace internvl::cuda {

template <class T>
struct Native {
  static_assert(std::is_same_v<T, float>, "internvl: CUDA element types are float, bf16 and f16");
  using type = float;
};
template <>
struct Native<bf16> {
  using type = __nv_bfloat16;
};
template <>
struct Native<f16> {
  using type = __half;
};

template <class T>
struct Native<const T> {
  using type = const typename Native<T>::type;
};

// native_t<bf16> = __nv_bfloat16, native_t<const f16> = const __half, native_t<float> = float.
template <class T>
using native_t = typename Native<T>::type;

static_assert(sizeof(__nv_bfloat16) == sizeof(bf16) && alignof(__nv_bfloat16) >= alignof(bf16));
static_assert(sizeof(__half) == sizeof(f16) && alignof(__half) >= alignof(f16));

template <class T>
native_t<T>* native(T* p) {
  return reinterpret_cast<native_t<T>*>(p);
}

// The cudaDataType_t that cuBLAS uses for T.
template <class T>
constexpr cudaDataType_t data_type() {
  if constexpr (std::is_same_v<T, bf16>) {
    return CUDA_R_16BF;
  } else if constexpr (std::is_same_v<T, f16>) {
    return CUDA_R_16F;
  } else {
    static_assert(std::is_same_v<T, float>, "internvl: CUDA element types are float, bf16 and f16");
    return CUDA_R_32F;
  }
}

__device__ __forceinline__ float to_f32(float v) { return v; }
__device__ __forceinline__ float to_f32(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_f32(__half v) { return __half2float(v); }

template <class NT>
__device__ __forceinline__ NT from_f32(float v) {
  if constexpr (std::is_same_v<NT, __nv_bfloat16>) {
    return __float2bfloat16_rn(v);
  } else if constexpr (std::is_same_v<NT, __half>) {
    return __float2half_rn(v);
  } else {
    return v;
  }
}

}  // namespace internvl::cuda
