// The cpu backend's kernels, compiled once for the programs that link the meson dependency
// internvl_cpu_kernels_dep ('internvl-cpu-kernels'): see include/internvl/backend/cpu/kernel_linkage.hpp.
#include "internvl/backend/cpu/separate_kernels.hpp"
