// Runs Catch2's session over every test case linked into the executable (command-line arguments as
// Catch2 takes them); returns its exit status. Defined in catch_runner.cpp.
#pragma once

namespace internvl::testing {

int run_catch_session(int argc, char** argv);

}  // namespace internvl::testing
