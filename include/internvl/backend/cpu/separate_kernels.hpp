// The definitions of the cpu backend's kernel entry points, for a program built with
// INTERNVL_SEPARATE_CPU_KERNELS (kernel_linkage.hpp): include this in exactly one translation unit,
// before any header of the cpu backend.
#pragma once

#if !defined(INTERNVL_SEPARATE_CPU_KERNELS)
#error "internvl: separate_kernels.hpp is for programs built with INTERNVL_SEPARATE_CPU_KERNELS defined"
#endif
#if defined(INTERNVL_CPU_ENTRY)
#error "internvl: include separate_kernels.hpp before any header of the cpu backend"
#endif

#define INTERNVL_CPU_KERNELS_DEFINED_HERE 1
#include "internvl/backend/cpu/all.hpp"
