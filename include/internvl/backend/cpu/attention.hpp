// cpu attention: the fused, blocked, online-softmax kernel of backend/cpu/attention/flash.hpp over
// one of four kernel sets, chosen per call from the ISA path (isa.hpp, INTERNVL_CPU_ISA), the
// context's matmul precision and the head dim: for bf16 precision, AMX tiles (kernels_amx.hpp) on the
// amx path when the head dim is a multiple of 32, else vdpbf16ps (kernels_avx512_bf16.hpp) on the
// avx512_bf16 and amx paths; the f32 AVX-512 kernels on AVX-512 paths, else the xsimd ones (the
// build's baseline ISA). Work is split over the context's thread pool by (batch, head, query block);
// scratch comes from the context's workspace.
#pragma once

#include "internvl/backend/cpu/attention/flash.hpp"
#include "internvl/backend/cpu/attention/kernels_amx.hpp"
#include "internvl/backend/cpu/attention/kernels_avx512.hpp"
#include "internvl/backend/cpu/attention/kernels_avx512_bf16.hpp"
#include "internvl/backend/cpu/attention/kernels_portable.hpp"
#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/kernel_linkage.hpp"
#include "internvl/backend/cpu/precision.hpp"
#include "internvl/ops/attention.hpp"

namespace internvl::ops {

template <>
struct Attention<backend::cpu> {
  // An entry point (kernel_linkage.hpp).
  static void run(Context<backend::cpu>& ctx, View<float, 4> out, CView<float, 4> q, CView<float, 4> k,
                  CView<float, 4> v, const AttentionOptions& options);
};

#if INTERNVL_CPU_DEFINE_ENTRIES
INTERNVL_CPU_ENTRY void Attention<backend::cpu>::run(Context<backend::cpu>& ctx, View<float, 4> out, CView<float, 4> q,
                                                     CView<float, 4> k, CView<float, 4> v,
                                                     const AttentionOptions& options) {
#if defined(INTERNVL_ATTENTION_AVX512)
  const cpu::Isa isa = cpu::active_isa();
  if (cpu::bf16_products(isa, ctx.matmul_precision())) {
    using Amx = cpu::attention::AmxKernels<cpu::packed::amx::HardwareTiles>;
    if (isa == cpu::Isa::amx && Amx::fits(q.size(3))) {
      return cpu::attention::flash_attention<Amx>(ctx, out, q, k, v, options);
    }
    return cpu::attention::flash_attention<cpu::attention::Avx512Bf16Kernels>(ctx, out, q, k, v, options);
  }
  if (isa != cpu::Isa::avx2) {
    return cpu::attention::flash_attention<cpu::attention::Avx512Kernels>(ctx, out, q, k, v, options);
  }
#endif
  cpu::attention::flash_attention<cpu::attention::PortableKernels>(ctx, out, q, k, v, options);
}
#endif

}  // namespace internvl::ops
