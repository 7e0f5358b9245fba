// Helpers shared by the tests: seeded random tensors and the relative L2 error used for every
// numerical comparison,  err(a, ref) = ‖a − ref‖₂ / ‖ref‖₂  (NaN anywhere makes it infinite).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "internvl/core/tensor.hpp"

namespace internvl::testing {

// A file under tests/golden (the directory comes from INTERNVL_GOLDEN_DIR, set by meson test).
inline std::string golden_path(const std::string& relative) {
  const char* dir = std::getenv("INTERNVL_GOLDEN_DIR");
  return std::string(dir != nullptr ? dir : "tests/golden") + "/" + relative;
}

// A copy of t rounded to the element type T (bf16, f16 or float).
template <class T, std::size_t Rank>
Tensor<T, Rank> convert(const Tensor<float, Rank>& t) {
  Tensor<T, Rank> out(t.shape());
  for (index_t i = 0; i < t.numel(); ++i) {
    out.data()[i] = T(t.data()[i]);
  }
  return out;
}

// Uniform values in [lo, hi), reproducible from the seed.
template <std::size_t Rank>
Tensor<float, Rank> random_tensor(const Extents<Rank>& shape, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor<float, Rank> t(shape);
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (index_t i = 0; i < t.numel(); ++i) {
    t.data()[i] = dist(gen);
  }
  return t;
}

template <class T, class U, std::size_t Rank>
double relative_l2(const TensorView<T, Rank>& actual, const TensorView<U, Rank>& expected) {
  if (actual.shape() != expected.shape()) {
    return std::numeric_limits<double>::infinity();
  }
  double diff = 0.0;
  double norm = 0.0;
  bool finite = true;
  const auto accumulate = [&](const auto& actual_value, const auto& expected_value) {
    const auto a = static_cast<double>(static_cast<float>(actual_value));
    const auto e = static_cast<double>(static_cast<float>(expected_value));
    finite = finite && std::isfinite(a) && std::isfinite(e);
    diff += (a - e) * (a - e);
    norm += e * e;
  };
  if (actual.is_contiguous() && expected.is_contiguous()) {  // the common case, without copies
    for (index_t i = 0; i < actual.numel(); ++i) {
      accumulate(actual.data()[i], expected.data()[i]);
    }
  } else {
    std::vector<double> a;
    std::vector<double> e;
    a.reserve(static_cast<std::size_t>(actual.numel()));
    e.reserve(static_cast<std::size_t>(expected.numel()));
    for_each_element(actual, [&](const auto& x) { a.push_back(static_cast<double>(static_cast<float>(x))); });
    for_each_element(expected, [&](const auto& x) { e.push_back(static_cast<double>(static_cast<float>(x))); });
    for (std::size_t i = 0; i < a.size(); ++i) {
      accumulate(a[i], e[i]);
    }
  }
  if (!finite) {
    return std::numeric_limits<double>::infinity();
  }
  return norm == 0.0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

// Fills a view with NaN so that any element a kernel fails to write is caught.
template <std::size_t Rank>
void poison(View<float, Rank> v) {
  for_each_element(v, [](float& x) { x = std::numeric_limits<float>::quiet_NaN(); });
}

}  // namespace internvl::testing
