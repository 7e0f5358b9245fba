// Compares a tensor read from a fixture with its entry in tests/golden/safetensors/expected.json
// (written by make.py from the tensors it saved): dtype, shape, and every value bit for bit, the float
// ones read through the typed view and io::to_f32.
#pragma once

#include <bit>
#include <catch2/catch.hpp>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "internvl/io/stored_tensor.hpp"
#include "internvl/io/to_f32.hpp"

namespace internvl::testing {

template <std::size_t R>
std::vector<std::uint32_t> f32_bits_through_view(const io::StoredTensor& t) {
  const Tensor<float, R> copy = io::to_f32(t.view<R>());
  std::vector<std::uint32_t> bits;
  for (index_t i = 0; i < copy.numel(); ++i) {
    bits.push_back(std::bit_cast<std::uint32_t>(copy.data()[i]));
  }
  return bits;
}

// Checks dtype, shape and every value of `t` against its entry in expected.json.
inline void check_against_expected(const io::StoredTensor& t, const nlohmann::json& expected) {
  INFO("tensor " << t.name());
  REQUIRE(io::name_of(t.stored_dtype()) == expected.at("dtype").get<std::string>());
  REQUIRE(std::vector<index_t>(t.shape().begin(), t.shape().end()) == expected.at("shape").get<std::vector<index_t>>());
  if (t.stored_dtype() == io::StoredDType::I64) {
    std::vector<std::int64_t> values(static_cast<std::size_t>(t.numel()));
    REQUIRE(t.bytes().size() == values.size() * 8);
    std::memcpy(values.data(), t.bytes().data(), t.bytes().size());
    REQUIRE(values == expected.at("values").get<std::vector<std::int64_t>>());
    return;
  }
  std::vector<std::uint32_t> bits;
  switch (t.rank()) {
    case 1:
      bits = f32_bits_through_view<1>(t);
      break;
    case 2:
      bits = f32_bits_through_view<2>(t);
      break;
    case 3:
      bits = f32_bits_through_view<3>(t);
      break;
    case 4:
      bits = f32_bits_through_view<4>(t);
      break;
    default:
      FAIL("fixture rank " << t.rank());
  }
  REQUIRE(bits == expected.at("f32_bits").get<std::vector<std::uint32_t>>());
}

}  // namespace internvl::testing
