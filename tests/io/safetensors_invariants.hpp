// What every SafetensorsFile that opened without an error must satisfy, whatever bytes it came from.
// Shared by the mutation test (test_safetensors_mutations.cpp) and the libFuzzer target, which also
// read every byte and convert every float tensor through its typed view, so that a sanitizer sees
// any read outside the buffer.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>

#include "internvl/io/safetensors.hpp"
#include "internvl/io/to_f32.hpp"

namespace internvl::testing {

namespace detail {

template <std::size_t R>
float sum_through_view(const io::StoredTensor& t) {
  const Tensor<float, R> copy = io::to_f32(t.view<R>());
  float sum = 0.0f;
  for (index_t i = 0; i < copy.numel(); ++i) {
    sum += copy.data()[i];
  }
  return sum;
}

inline float sum_through_view(const io::StoredTensor& t) {
  switch (t.rank()) {
    case 1:
      return sum_through_view<1>(t);
    case 2:
      return sum_through_view<2>(t);
    case 3:
      return sum_through_view<3>(t);
    case 4:
      return sum_through_view<4>(t);
    case 5:
      return sum_through_view<5>(t);
    case 6:
      return sum_through_view<6>(t);
    default:
      return 0.0f;  // rank 0 or above 6: no TensorView; the bytes are still checked
  }
}

inline std::uint64_t byte_sum(std::span<const std::byte> bytes) {
  std::uint64_t sum = 0;
  for (std::byte b : bytes) {
    sum += static_cast<std::uint8_t>(b);
  }
  return sum;
}

}  // namespace detail

// The first broken invariant of `file`, opened from `input`, or an empty string.
inline std::string safetensors_violation(const io::SafetensorsFile& file, std::span<const std::byte> input) {
  std::uint64_t header_size = 0;
  std::memcpy(&header_size, input.data(), 8);
  const std::span<const std::byte> data = input.subspan(8 + header_size);
  std::uint64_t covered = 0;
  std::uint64_t sum = 0;
  volatile float sink = 0.0f;
  const std::string* previous = nullptr;
  for (const io::StoredTensor& t : file.tensors()) {
    if (previous != nullptr && !(*previous < t.name())) {
      return "names not sorted and unique at '" + t.name() + "'";
    }
    previous = &t.name();
    const auto bits =
        static_cast<std::uint64_t>(t.numel()) * static_cast<std::uint64_t>(io::bit_size(t.stored_dtype()));
    if (bits != t.bytes().size() * 8) {
      return "tensor '" + t.name() + "' has the wrong byte count";
    }
    covered += t.bytes().size();
    sum += detail::byte_sum(t.bytes());
    if (t.has_element_type()) {
      if (reinterpret_cast<std::uintptr_t>(t.bytes().data()) % size_of(t.dtype()) != 0) {
        return "tensor '" + t.name() + "' is misaligned";
      }
      sink = sink + detail::sum_through_view(t);
    }
  }
  if (covered != data.size()) {
    return "tensors cover " + std::to_string(covered) + " bytes of a " + std::to_string(data.size()) +
           "-byte data section";
  }
  if (sum != detail::byte_sum(data)) {
    return "tensor bytes differ from the data section";
  }
  return {};
}

}  // namespace internvl::testing
