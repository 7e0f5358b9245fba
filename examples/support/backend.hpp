// The --backend flag of the example programs and their error handling:
//   backend_name(cli)                  --backend reference|cpu|cuda (default cpu); anything else exits 2
//   on_backend(cli, name, host, cuda)  host.template operator()<Backend>() for reference or cpu, cuda() for
//                                      cuda (a usage error, exit 2, in a build without CUDA)
//   run_reporting_usage(cli, body)     body(); an exception (a bad file, shape or config, no GPU) becomes
//                                      its message, the usage and exit status 1
#pragma once

#include <cstdio>
#include <exception>
#include <string>

#include "cli.hpp"
#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"
#include "internvl/core/error.hpp"

namespace internvl::examples {

inline std::string backend_name(const Cli& cli) {
  const std::string backend = cli.get("--backend").value_or("cpu");
  if (backend != "cpu" && backend != "reference" && backend != "cuda") {
    cli.fail("unknown backend '" + backend + "' (reference, cpu, cuda)");
  }
  return backend;
}

template <class Host, class Cuda>
decltype(auto) on_backend([[maybe_unused]] const Cli& cli, const std::string& backend, Host&& host, Cuda&& cuda) {
  if (backend == "reference") {
    return host.template operator()<backend::reference>();
  }
  if (backend == "cpu") {
    return host.template operator()<backend::cpu>();
  }
#if INTERNVL_EXAMPLES_CUDA
  return cuda();
#else
  static_cast<void>(cuda);
  cli.fail("this build has no CUDA support (configure with -Dcuda=enabled where nvcc is available)");
#endif
}

template <class Body>
int run_reporting_usage(const Cli& cli, Body&& body) {
  try {
    body();
  } catch (const std::exception& e) {  // internvl::Error for bad input; anything else (say, out of memory) too
    std::fprintf(stderr, "error: %s\n\n%s", e.what(), cli.usage().c_str());
    return 1;
  }
  return 0;
}

}  // namespace internvl::examples
