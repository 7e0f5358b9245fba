// libFuzzer target: any byte string given to parse_npy (the --pixels input of the example programs) must
// either raise internvl::Error or give an array that its header describes: a supported dtype, a shape
// whose elements fill `bytes` exactly; an array of rank 1 to 4 and up to 2^20 elements then converts to
// f32 (npy_to_f32) with that shape. Anything else aborts and is reported as a crash.
// Built only by compilers that support -fsanitize=fuzzer (clang), with ASan and UBSan:
//   CXX=clang++ meson setup build-fuzz && ninja -C build-fuzz tests/io/fuzz_npy
//   build-fuzz/tests/io/fuzz_npy -dict=tests/io/fuzz_npy.dict CORPUS_DIR tests/golden/npy
#include <cstdio>
#include <cstdlib>
#include <span>

#include "internvl/io/npy.hpp"

namespace {

void expect(bool holds, const char* what) {
  if (!holds) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

template <std::size_t Rank>
void check_conversion(const internvl::io::NpyArray& array) {
  const internvl::Tensor<float, Rank> converted = internvl::io::npy_to_f32<Rank>(array, "fuzz input");
  for (std::size_t d = 0; d < Rank; ++d) {
    expect(converted.size(d) == array.shape[d], "the f32 tensor has the array's shape");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace internvl;
  io::NpyArray array;
  try {
    array = io::parse_npy(std::as_bytes(std::span(data, size)), "fuzz input");
  } catch (const Error&) {
    return 0;
  }
  const std::size_t item_size = io::detail::npy_item_size(array.descr);
  expect(item_size != 0, "the dtype is a supported one");
  for (const index_t extent : array.shape) {
    expect(extent >= 0, "extents are non-negative");
  }
  expect(array.bytes.size() == static_cast<std::size_t>(array.numel()) * item_size,
         "the data holds the shape's elements exactly");
  expect(array.bytes.size() <= size, "the data came from the input");
  if (array.numel() > (1 << 20)) {
    return 0;
  }
  switch (array.shape.size()) {
    case 1:
      check_conversion<1>(array);
      break;
    case 2:
      check_conversion<2>(array);
      break;
    case 3:
      check_conversion<3>(array);
      break;
    case 4:
      check_conversion<4>(array);
      break;
    default:
      break;
  }
  return 0;
}
