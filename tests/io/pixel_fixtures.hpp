// Shared by the image tests: the fixture manifest (tests/golden/image/manifest.json, written by make.py),
// uint8 arrays from .npy, the digest make.py stores for large results, and pixel-difference statistics.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "internvl/io/image.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

namespace internvl::testing {

inline std::string image_fixture(const std::string& name) { return golden_path("image/" + name); }

inline const nlohmann::json& image_manifest() {
  static const nlohmann::json manifest = [] {
    std::ifstream in(image_fixture("manifest.json"));
    return nlohmann::json::parse(in);
  }();
  return manifest;
}

// A uint8 .npy array of any rank, dense.
inline io::NpyArray read_u8(const std::string& name) {
  io::NpyArray a = io::read_npy(image_fixture(name));
  if (a.descr != "|u1") {
    fail(name, "expected a uint8 array, found ", a.descr);
  }
  return a;
}

// An input image of the manifest, decoded by the library (decoding is tested against Pillow separately).
inline io::Image fixture_input(const std::string& name) {
  return io::read_image(image_fixture(image_manifest()["inputs"][name].get<std::string>()));
}

// make.py's digest: shape, sum, and Σ v[i]·(((i·0x9E3779B1) mod 2^32) | 1) mod 2^64 over the C-order bytes.
struct Digest {
  std::vector<index_t> shape;
  std::uint64_t sum = 0;
  std::uint64_t weighted = 0;
  bool operator==(const Digest&) const = default;
};

inline Digest digest_of(const std::uint8_t* data, const std::vector<index_t>& shape) {
  Digest d{shape, 0, 0};
  index_t n = 1;
  for (index_t e : shape) n *= e;
  for (index_t i = 0; i < n; ++i) {
    const std::uint64_t weight = ((static_cast<std::uint64_t>(i) * 0x9E3779B1ull) & 0xFFFFFFFFull) | 1ull;
    d.sum += data[i];
    d.weighted += data[i] * weight;
  }
  return d;
}

inline Digest digest_from_json(const nlohmann::json& j) {
  return {j["shape"].get<std::vector<index_t>>(), j["sum"].get<std::uint64_t>(),
          std::stoull(j["weighted"].get<std::string>())};
}

// How far actual is from expected, in 8-bit levels.
struct PixelDiff {
  bool same_shape = true;
  int max = 0;
  index_t differing = 0;
  index_t total = 0;

  void add(const PixelDiff& other) {
    same_shape = same_shape && other.same_shape;
    max = std::max(max, other.max);
    differing += other.differing;
    total += other.total;
  }
};

// Compares dense pixels with an expectation of the manifest: {"file": ...} (every pixel) or {"digest": ...}
// (exact: a digest mismatch counts as one differing value of unknown size, reported as max 255).
inline PixelDiff compare_pixels(const std::uint8_t* data, const std::vector<index_t>& shape,
                                const nlohmann::json& expected) {
  PixelDiff diff;
  index_t n = 1;
  for (index_t e : shape) n *= e;
  diff.total = n;
  if (expected.contains("digest")) {
    const bool same = digest_of(data, shape) == digest_from_json(expected["digest"]);
    diff.same_shape = shape == expected["digest"]["shape"].get<std::vector<index_t>>();
    diff.max = same ? 0 : 255;
    diff.differing = same ? 0 : 1;
    return diff;
  }
  const io::NpyArray e = read_u8(expected["file"].get<std::string>());
  if (e.shape != shape) {
    diff.same_shape = false;
    return diff;
  }
  const auto* ref = reinterpret_cast<const std::uint8_t*>(e.bytes.data());
  for (index_t i = 0; i < n; ++i) {
    const int d = std::abs(int{data[i]} - int{ref[i]});
    diff.max = std::max(diff.max, d);
    diff.differing += d != 0;
  }
  return diff;
}

inline PixelDiff compare_pixels(const io::Image& image, const nlohmann::json& expected) {
  return compare_pixels(image.data(), {image.size(0), image.size(1), image.size(2)}, expected);
}

// Largest |actual − expected| between a float tensor and a float32 .npy fixture (infinite on shape mismatch).
template <std::size_t Rank>
double max_abs_diff(const Tensor<float, Rank>& actual, const std::string& fixture) {
  const Tensor<float, Rank> expected = io::read_npy_f32<Rank>(image_fixture(fixture));
  if (expected.shape() != actual.shape()) return INFINITY;
  double m = 0.0;
  for (index_t i = 0; i < actual.numel(); ++i) {
    const double d = std::fabs(double{actual.data()[i]} - double{expected.data()[i]});
    m = std::isnan(d) ? INFINITY : std::max(m, d);
  }
  return m;
}

template <std::size_t Rank>
double sum_of(const Tensor<float, Rank>& t) {
  double s = 0.0;
  for (index_t i = 0; i < t.numel(); ++i) s += t.data()[i];
  return s;
}

}  // namespace internvl::testing
