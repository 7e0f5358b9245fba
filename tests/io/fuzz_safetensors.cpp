// libFuzzer target: any byte string given to SafetensorsFile must either raise internvl::Error or
// open as a file that satisfies every invariant of safetensors_invariants.hpp (every tensor read in
// full, float tensors through their typed views). Anything else aborts and is reported as a crash.
// Built only by compilers that support -fsanitize=fuzzer (clang), with ASan and UBSan:
//   CXX=clang++ meson setup build-fuzz && ninja -C build-fuzz tests/io/fuzz_safetensors
//   build-fuzz/tests/io/fuzz_safetensors -dict=tests/io/fuzz_safetensors.dict CORPUS_DIR tests/golden/safetensors
#include <cstdio>
#include <cstdlib>

#include "safetensors_invariants.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> input(reinterpret_cast<const std::byte*>(data), size);
  try {
    const internvl::io::SafetensorsFile file = internvl::io::SafetensorsFile::from_bytes(input, "fuzz input");
    if (const std::string violation = internvl::testing::safetensors_violation(file, input); !violation.empty()) {
      std::fprintf(stderr, "invariant broken: %s\n", violation.c_str());
      std::abort();
    }
  } catch (const internvl::Error&) {
    // a refusal is a correct answer
  }
  return 0;
}
