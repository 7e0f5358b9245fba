// The one translation unit that compiles Catch2's implementation, and run_catch_session for the
// runners: the CPU tests' (catch_main.cpp) and the CUDA tests' (tests/cuda/cuda_main.cpp). It holds no
// code under test, so tests/meson.build compiles it at -O1 and without the sanitizers, which would
// otherwise make it the slowest file of the build.
#define CATCH_CONFIG_RUNNER
#include "catch_runner.hpp"

#include <catch2/catch.hpp>

int internvl::testing::run_catch_session(int argc, char** argv) { return Catch::Session().run(argc, argv); }
