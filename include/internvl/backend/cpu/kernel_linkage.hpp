// Where the cpu backend's kernels are compiled. Header-only by default: the two entry points below
// are inline functions, and every translation unit that runs a product or an attention compiles
// all of their kernels (with GCC 12, 5 to 10 s per translation unit at -O1 to -O3). A program of
// many translation units can compile them once instead:
//   - define INTERNVL_SEPARATE_CPU_KERNELS for every translation unit of the program, and
//   - compile <internvl/backend/cpu/separate_kernels.hpp> in exactly one of them
//     (meson: use dependency('internvl-cpu-kernels') instead of 'internvl'; it does both).
// The entry points, the only functions that see every kernel set:
//   cpu::packed::kernel_set(isa, precision)      gemm/gemm.hpp: the GEMM's kernel tables
//   cpu::gemm_streamed(...), gemm_streamed_bf16   gemm/few_rows.hpp: the product of few rows, B unpacked
//   ops::Attention<backend::cpu>::run(...)        attention.hpp: the attention's kernel sets
// Everything else stays inline; code that names a kernel set itself (tests on emulated AMX tiles,
// microbenchmarks) compiles that set where it names it.
#pragma once

#if defined(INTERNVL_SEPARATE_CPU_KERNELS)
#define INTERNVL_CPU_ENTRY
#if defined(INTERNVL_CPU_KERNELS_DEFINED_HERE)
#define INTERNVL_CPU_DEFINE_ENTRIES 1
#else
#define INTERNVL_CPU_DEFINE_ENTRIES 0
#endif
#else
#define INTERNVL_CPU_ENTRY inline
#define INTERNVL_CPU_DEFINE_ENTRIES 1
#endif
