// cpu attention: the fused, blocked, online-softmax kernel of backend/cpu/attention/flash.hpp,
// with the AVX-512 micro-kernels when the CPU running the program has AVX-512F and the xsimd ones
// (the build's baseline ISA) otherwise. Work is split over the context's thread pool by
// (batch, head, query block); scratch comes from the context's workspace.
#pragma once

#include "internvl/backend/cpu/attention/flash.hpp"
#include "internvl/backend/cpu/attention/kernels_avx512.hpp"
#include "internvl/backend/cpu/attention/kernels_portable.hpp"
#include "internvl/backend/cpu/context.hpp"
#include "internvl/ops/attention.hpp"

namespace internvl::ops {

template <>
struct Attention<backend::cpu> {
  static void run(Context<backend::cpu>& ctx, View<float, 4> out, CView<float, 4> q, CView<float, 4> k,
                  CView<float, 4> v, const AttentionOptions& options) {
#if defined(INTERNVL_ATTENTION_AVX512)
    if (cpu::attention::Avx512Kernels::available()) {
      return cpu::attention::flash_attention<cpu::attention::Avx512Kernels>(ctx, out, q, k, v, options);
    }
#endif
    cpu::attention::flash_attention<cpu::attention::PortableKernels>(ctx, out, q, k, v, options);
  }
};

}  // namespace internvl::ops
