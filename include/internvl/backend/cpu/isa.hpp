// Run-time instruction-set detection for the cpu backend's matrix kernels (x86-64 only).
//   cpu_features()    what this CPU supports and the OS has enabled (cpuid + xgetbv), detected once
//   active_isa()      the widest instruction set the GEMM may use: the best one present, or the one
//                     INTERNVL_CPU_ISA=avx2|avx512|avx512_bf16|amx forces
//   reselect_isa()    re-reads INTERNVL_CPU_ISA (tests use it to run every path)
//   active_isa_name() "avx2", "avx512", "avx512_bf16" or "amx", for benchmarks and logs
// avx512_bf16 and amx differ from avx512 only for products asked to run in bf16 (gemm.hpp,
// precision.hpp): f32 products run the AVX-512 f32 kernels on all three. amx multiplies bf16
// products on AMX tiles (gemm/kernel_amx.hpp); it needs AVX512-BF16 too (packing, attention) and
// Linux's per-process permission to use the tile data registers, which detection requests once
// (arch_prctl ARCH_REQ_XCOMP_PERM): without it the tiles fault, so a refusal means no amx path.
// A forced path this CPU lacks, or an unknown value, is an internvl::Error naming INTERNVL_CPU_ISA.
#pragma once

#if !defined(__x86_64__)
#error "internvl: the cpu backend's matrix kernels target x86-64 (AVX2 / AVX-512)"
#endif

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "internvl/core/error.hpp"

// Functions that use the intrinsics of one path carry its target (GCC and clang refuse to inline an
// intrinsic into a function compiled for a narrower instruction set).
#define INTERNVL_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define INTERNVL_TARGET_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")))
#define INTERNVL_TARGET_AVX512_BF16 \
  __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))
#define INTERNVL_TARGET_AMX \
  __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,amx-tile,amx-bf16")))

namespace internvl::cpu {

enum class Isa { avx2, avx512, avx512_bf16, amx };

inline constexpr Isa kAllIsas[] = {Isa::avx2, Isa::avx512, Isa::avx512_bf16, Isa::amx};

constexpr std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::amx: return "amx";
    case Isa::avx512_bf16: return "avx512_bf16";
    case Isa::avx512: return "avx512";
    case Isa::avx2: break;
  }
  return "avx2";
}

struct CpuFeatures {
  bool avx2 = false;         // AVX2 + FMA + F16C, YMM state enabled by the OS
  bool avx512 = false;       // AVX-512 F/BW/VL/DQ, opmask and ZMM state enabled by the OS
  bool avx512_bf16 = false;  // AVX512-BF16 (vdpbf16ps), on top of avx512
  bool amx_tile = false;     // AMX-TILE, tile state enabled by the OS
  bool amx_bf16 = false;     // AMX-BF16, on top of amx_tile
  bool amx = false;          // the amx path: AMX-BF16 and AVX512-BF16, and Linux let this process use tiles
};

namespace detail {

struct CpuidRegs {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
};

inline CpuidRegs cpuid(unsigned leaf, unsigned subleaf) {
  CpuidRegs r;
  if (__get_cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx) == 0) {
    return {};
  }
  return r;
}

// XCR0: which register states the OS saves on context switches (valid only when OSXSAVE is set).
inline std::uint64_t read_xcr0() {
  std::uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<std::uint64_t>(edx) << 32) | eax;
}

constexpr bool bit(unsigned reg, int b) { return ((reg >> b) & 1u) != 0; }

// Linux (5.16 on) hands the AMX tile data state to a process only on request; until then the first
// tile instruction faults. The request is per process and covers every thread; an older kernel or a
// refusal answers non-zero.
inline bool request_tile_permission() {
  constexpr int kArchReqXcompPerm = 0x1023;  // arch/x86/include/uapi/asm/prctl.h
  constexpr int kXfeatureTileData = 18;      // XTILEDATA, bit 18 of XCR0
  return ::syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureTileData) == 0;
}

inline CpuFeatures detect_features() {
  const CpuidRegs leaf1 = cpuid(1, 0);
  if (!bit(leaf1.ecx, 27)) {  // OSXSAVE: without it no AVX state is usable
    return {};
  }
  const std::uint64_t xcr0 = read_xcr0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;                 // SSE + AVX
  const bool zmm_state = ymm_state && (xcr0 & 0xE0) == 0xE0;  // opmask, ZMM_Hi256, Hi16_ZMM
  const bool tile_state = (xcr0 & 0x60000) == 0x60000;        // XTILECFG, XTILEDATA
  const CpuidRegs leaf7 = cpuid(7, 0);
  const CpuidRegs leaf7_1 = cpuid(7, 1);
  CpuFeatures f;
  f.avx2 = ymm_state && bit(leaf1.ecx, 28) && bit(leaf1.ecx, 12) && bit(leaf1.ecx, 29) && bit(leaf7.ebx, 5);
  f.avx512 =
      f.avx2 && zmm_state && bit(leaf7.ebx, 16) && bit(leaf7.ebx, 17) && bit(leaf7.ebx, 30) && bit(leaf7.ebx, 31);
  f.avx512_bf16 = f.avx512 && bit(leaf7_1.eax, 5);
  f.amx_tile = tile_state && bit(leaf7.edx, 24);
  f.amx_bf16 = f.amx_tile && bit(leaf7.edx, 22);
  f.amx = f.amx_bf16 && f.avx512_bf16 && request_tile_permission();
  return f;
}

inline constexpr std::string_view kIsaVariable = "INTERNVL_CPU_ISA";

}  // namespace detail

// Whether features `f` include everything path `isa` uses.
constexpr bool supports(const CpuFeatures& f, Isa isa) {
  switch (isa) {
    case Isa::amx: return f.amx;
    case Isa::avx512_bf16: return f.avx512_bf16;
    case Isa::avx512: return f.avx512;
    case Isa::avx2: break;
  }
  return f.avx2;
}

// The best path features `f` support.
constexpr Isa best_isa(const CpuFeatures& f) {
  return f.amx ? Isa::amx : f.avx512_bf16 ? Isa::avx512_bf16 : f.avx512 ? Isa::avx512 : Isa::avx2;
}

namespace detail {

// The path INTERNVL_CPU_ISA forces, else the best one present.
inline Isa choose_isa(const CpuFeatures& f) {
  const char* env = std::getenv(kIsaVariable.data());
  const std::string_view forced = env != nullptr ? env : "";
  if (forced.empty()) {
    INTERNVL_CHECK(f.avx2, "internvl::cpu", "the cpu backend needs AVX2, FMA and F16C, which this CPU lacks");
    return best_isa(f);
  }
  for (Isa isa : kAllIsas) {
    if (forced == isa_name(isa)) {
      INTERNVL_CHECK(supports(f, isa), kIsaVariable, "asks for ", forced,
                     ", which this CPU (or its OS) does not support");
      return isa;
    }
  }
  fail(kIsaVariable, "unknown value '", forced, "' (expected avx2, avx512, avx512_bf16 or amx)");
}

inline std::atomic<int>& isa_slot() {  // -1 until chosen
  static std::atomic<int> slot{-1};
  return slot;
}

}  // namespace detail

inline const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detail::detect_features();
  return features;
}

// Chooses the path again from INTERNVL_CPU_ISA and the CPU, and makes it the active one.
inline Isa reselect_isa() {
  const Isa isa = detail::choose_isa(cpu_features());
  detail::isa_slot().store(static_cast<int>(isa), std::memory_order_relaxed);
  return isa;
}

// The path the GEMM takes; chosen on first use.
inline Isa active_isa() {
  const int chosen = detail::isa_slot().load(std::memory_order_relaxed);
  return chosen < 0 ? reselect_isa() : static_cast<Isa>(chosen);
}

inline std::string_view active_isa_name() { return isa_name(active_isa()); }

}  // namespace internvl::cpu
