// The --backend flag of the example programs: runs fn.template operator()<Backend>() for the named
// host backend (reference or cpu), and turns library errors (bad files, shapes, configs) into a
// message, the usage and exit status 1; bad arguments exit 2 through Cli::fail.
#pragma once

#include <cstdio>
#include <exception>
#include <string>

#include "cli.hpp"
#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"
#include "internvl/core/error.hpp"

namespace internvl::examples {

template <class Fn>
int run_on_backend(const Cli& cli, Fn&& fn) {
  const std::string name = cli.get("--backend").value_or("cpu");
  if (name != "cpu" && name != "reference") {
    cli.fail("--backend must be reference or cpu, got '" + name + "'");
  }
  try {
    if (name == "cpu") {
      fn.template operator()<backend::cpu>();
    } else {
      fn.template operator()<backend::reference>();
    }
  } catch (const std::exception& e) {  // internvl::Error for bad input; anything else (say, out of memory) too
    std::fprintf(stderr, "error: %s\n\n%s", e.what(), cli.usage().c_str());
    return 1;
  }
  return 0;
}

}  // namespace internvl::examples
