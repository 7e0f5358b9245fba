// Must not compile: separate_kernels.hpp after a header of the cpu backend, which has already
// declared the entry points without their definitions.
#define INTERNVL_SEPARATE_CPU_KERNELS 1
#include "internvl/backend/cpu/linear.hpp"
#include "internvl/backend/cpu/separate_kernels.hpp"

int main() {}
