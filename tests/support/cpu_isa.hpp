// Runs a test body once per cpu GEMM path this machine has (AVX2, AVX-512, AVX-512 with BF16, AMX), each
// forced through INTERNVL_CPU_ISA the way a user would force it; afterwards (even after a failure)
// the variable is cleared and the default path chosen again. (cpu::bf16_products(isa, precision)
// says whether a product of that precision runs on bf16 operands there, else on exact f32 ones.)
#pragma once

#include <catch2/catch.hpp>
#include <cstdlib>
#include <iterator>
#include <utility>

#include "internvl/backend/cpu/isa.hpp"
#include "internvl/backend/cpu/precision.hpp"

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

inline bool has_path(cpu::Isa isa) { return cpu::supports(cpu::cpu_features(), isa); }

template <class Fn>
void for_each_cpu_isa(Fn&& fn) {
  for (cpu::Isa isa : cpu::kAllIsas) {
    if (!has_path(isa)) {
      static bool warned[std::size(cpu::kAllIsas)] = {};  // once per test program, not per case
      if (!std::exchange(warned[static_cast<std::size_t>(isa)], true)) {
        WARN("this CPU has no " << cpu::isa_name(isa) << " path; it is not tested here");
      }
      continue;
    }
    const ForcedIsa forced(cpu::isa_name(isa).data());
    REQUIRE(cpu::reselect_isa() == isa);
    INFO("isa " << cpu::isa_name(isa));
    fn(isa);
  }
}

}  // namespace internvl::testing
