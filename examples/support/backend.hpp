// The --backend and --precision flags of the example programs:
//   backend_choice(cli)  --backend reference|cpu|cuda (default cpu) with --precision f32|bf16 and the
//                        --profile switch, checked together; anything else is a usage error (exit 2):
//                          cpu        f32 (default) or bf16: the precision of the matrix products
//                                     (linear, matmul, attention), internvl/backend/cpu/precision.hpp
//                          reference  f32 only: the oracle has no other precision
//                          cuda       bf16 only: the CUDA paths run their models in bf16, the flag only states it
//                        --profile needs cpu.
//   on_backend(cli, choice, host, cuda)
//                        host(ctx) with a Context<backend::reference>, or a Context<backend::cpu> whose
//                        products run at choice.precision (with --profile, every op call timed, and the
//                        table printed to stderr once host returns: internvl/core/op_profile.hpp);
//                        cuda() for cuda (a usage error, exit 2, in a build without CUDA)
#pragma once

#include <cstdio>
#include <string>

#include "cli.hpp"
#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"

namespace internvl::examples {

struct BackendChoice {
  std::string backend;                             // reference, cpu or cuda
  cpu::Precision precision = cpu::Precision::f32;  // of the cpu backend's matrix products
  bool profile = false;                            // time the cpu backend's ops
};


inline BackendChoice backend_choice(const Cli& cli) {
  BackendChoice choice{.backend = cli.get("--backend").value_or("cpu"), .profile = cli.has("--profile")};
  if (choice.backend != "cpu" && choice.backend != "reference" && choice.backend != "cuda") {
    cli.fail("unknown backend '" + choice.backend + "' (reference, cpu, cuda)");
  }
  if (choice.profile && choice.backend != "cpu") {
    cli.fail("--profile needs --backend cpu (it times the cpu backend's ops)");
  }
  const auto precision = cli.get("--precision");
  if (!precision) {
    return choice;
  }
  if (*precision != "f32" && *precision != "bf16") {
    cli.fail("--precision must be f32 or bf16, got '" + *precision + "'");
  }
  choice.precision = *precision == "bf16" ? cpu::Precision::bf16 : cpu::Precision::f32;
  if (choice.backend == "reference" && choice.precision == cpu::Precision::bf16) {
    cli.fail("--precision bf16 needs --backend cpu (the reference backend computes in f32 only)");
  }
  if (choice.backend == "cuda" && choice.precision == cpu::Precision::f32) {
    cli.fail("--precision f32 is not available with --backend cuda (the CUDA paths run their models in bf16)");
  }
  return choice;
}

// Prints the profile's table to stderr when it goes out of scope, unless an exception ends the scope.
struct ProfileReport {
  explicit ProfileReport(OpProfile* p) : profile(p) {}
  ~ProfileReport() {
    if (profile != nullptr && std::uncaught_exceptions() == exceptions) {
      std::fprintf(stderr, "ops on the cpu backend, %.1f ms in all:\n%s", 1e3 * profile->total_seconds(),
                   profile->table().c_str());
    }
  }
  ProfileReport(const ProfileReport&) = delete;
  ProfileReport& operator=(const ProfileReport&) = delete;

  OpProfile* profile;
  int exceptions = std::uncaught_exceptions();
};

template <class Host, class Cuda>
decltype(auto) on_backend([[maybe_unused]] const Cli& cli, const BackendChoice& choice, Host&& host, Cuda&& cuda) {
  if (choice.backend == "reference") {
    Context<backend::reference> ctx;
    return host(ctx);
  }
  if (choice.backend == "cpu") {
    Context<backend::cpu> ctx;
    ctx.set_matmul_precision(choice.precision);
    OpProfile profile;
    const ProfileReport report(choice.profile ? &profile : nullptr);
    ctx.set_op_profile(report.profile);
    return host(ctx);
  }
#if INTERNVL_EXAMPLES_CUDA
  return cuda();
#else
  static_cast<void>(cuda);
  cli.fail("this build has no CUDA support (configure with -Dcuda=enabled where nvcc is available)");
#endif
}

}  // namespace internvl::examples
