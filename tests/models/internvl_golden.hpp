// Paths and inputs of the InternVL golden fixtures (tests/golden/internvl/make.py), shared by the QLLaMA
// and InternVL-C/G tests.
#pragma once

#include <cstdint>
#include <string>

#include "internvl/io/npy.hpp"
#include "testing.hpp"

namespace internvl::testing {

inline std::string internvl_golden(const std::string& name) { return golden_path("internvl/" + name); }

// An expected tensor: internvl/<name>.npy.
template <std::size_t Rank>
Tensor<float, Rank> internvl_expected(const std::string& name) {
  return io::read_npy_f32<Rank>(internvl_golden(name + ".npy"));
}

// The token ids [T, L] of a fixture (saved as int64; every QLLaMA id is exact in f32).
inline Tensor<std::int32_t, 2> internvl_ids(const std::string& model) {
  const auto f = internvl_expected<2>(model + "_ids");
  Tensor<std::int32_t, 2> ids(f.shape());
  for (index_t i = 0; i < f.numel(); ++i) {
    ids.data()[i] = static_cast<std::int32_t>(f.data()[i]);
  }
  return ids;
}

}  // namespace internvl::testing
