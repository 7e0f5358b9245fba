// Runs a test body once per cpu GEMM path this machine has (AVX2, AVX-512), each forced through
// INTERNVL_CPU_ISA the way a user would force it; afterwards (even after a failure) the variable is
// cleared and the default path chosen again.
#pragma once

#include <catch2/catch.hpp>
#include <cstdlib>

#include "internvl/backend/cpu/isa.hpp"

namespace internvl::testing {

// Sets INTERNVL_CPU_ISA for its lifetime.
class ForcedIsa {
 public:
  explicit ForcedIsa(const char* value) { ::setenv("INTERNVL_CPU_ISA", value, 1); }
  ForcedIsa(const ForcedIsa&) = delete;
  ForcedIsa& operator=(const ForcedIsa&) = delete;
  ~ForcedIsa() {
    ::unsetenv("INTERNVL_CPU_ISA");
    cpu::reselect_isa();
  }
};

inline bool has_path(cpu::Isa isa) {
  return isa == cpu::Isa::avx512 ? cpu::cpu_features().avx512 : cpu::cpu_features().avx2;
}

template <class Fn>
void for_each_cpu_isa(Fn&& fn) {
  for (cpu::Isa isa : {cpu::Isa::avx2, cpu::Isa::avx512}) {
    if (!has_path(isa)) {
      WARN("this CPU has no " << cpu::isa_name(isa) << " path; it is not tested here");
      continue;
    }
    const ForcedIsa forced(cpu::isa_name(isa).data());
    REQUIRE(cpu::reselect_isa() == isa);
    INFO("isa " << cpu::isa_name(isa));
    fn(isa);
  }
}

}  // namespace internvl::testing
