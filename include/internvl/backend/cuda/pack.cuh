// Pack<NT, N>: N consecutive elements moved as one access (16 bytes for N = 16 / sizeof(NT)), the
// widest load and store a thread can issue. Launchers choose N > 1 only after checking that every
// address the kernel forms is aligned to the pack (pack_fits), and fall back to N = 1 otherwise.
#pragma once

#include <algorithm>
#include <cstdint>

#include "internvl/core/tensor_view.hpp"

namespace internvl::cuda {

template <class NT, int N>
struct alignas(std::min<std::size_t>(16, sizeof(NT) * N)) Pack {
  NT v[N];
};

template <int N, class NT>
__device__ __forceinline__ Pack<NT, N> load_pack(const NT* p) {
  return *reinterpret_cast<const Pack<NT, N>*>(p);
}

template <int N, class NT>
__device__ __forceinline__ void store_pack(NT* p, const Pack<NT, N>& value) {
  *reinterpret_cast<Pack<NT, N>*>(p) = value;
}

// True when the address and a row pitch (in elements) keep every pack of `bytes` aligned.
template <class T>
bool pack_fits(const T* p, index_t pitch_elements, std::size_t bytes) {
  return reinterpret_cast<std::uintptr_t>(p) % bytes == 0 &&
         static_cast<std::size_t>(pitch_elements) * sizeof(T) % bytes == 0;
}

}  // namespace internvl::cuda
