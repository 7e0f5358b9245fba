// The precision of the cpu backend's matrix products (linear, matmul, attention's Q·Kᵀ and P·V):
//   f32   operands as given (f32 activations, weights widened from their stored dtype), f32 FMAs
//   bf16  operands rounded to bf16 (round to nearest even) while they are packed, products by
//         AVX512-BF16 dot-product instructions (vdpbf16ps), or AMX tiles for the GEMM on the amx
//         path, with f32 accumulation, f32 results; on a CPU without AVX512-BF16 (or with
//         INTERNVL_CPU_ISA below avx512_bf16) the f32 path runs
// Activations, norms, softmax and the residual stream stay f32 either way; only the operands of
// the products lose precision. A Context<backend::cpu> carries the setting (context.hpp), f32 by
// default, like PyTorch's torch.set_float32_matmul_precision.
#pragma once

#include <string_view>

#include "internvl/backend/cpu/isa.hpp"

namespace internvl::cpu {

enum class Precision { f32, bf16 };

constexpr std::string_view precision_name(Precision p) { return p == Precision::bf16 ? "bf16" : "f32"; }

// Whether products asked to run in `precision` take bf16 operands on path `isa` (active_isa()).
constexpr bool bf16_products(Isa isa, Precision precision) {
  return (isa == Isa::avx512_bf16 || isa == Isa::amx) && precision == Precision::bf16;
}

}  // namespace internvl::cpu
