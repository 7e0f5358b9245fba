// Must not compile: the definitions of the cpu kernels' entry points in a program that is not built
// with INTERNVL_SEPARATE_CPU_KERNELS, where every translation unit already has them inline.
#include "internvl/backend/cpu/separate_kernels.hpp"

int main() {}
