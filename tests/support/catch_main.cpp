// The runner of the CPU test executables: Catch2's session over every test case linked in.
#include "catch_runner.hpp"

int main(int argc, char** argv) { return internvl::testing::run_catch_session(argc, argv); }
