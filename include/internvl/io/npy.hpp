// NumPy .npy files in and out, so results can be compared with numpy / PyTorch directly.
//   format: "\x93NUMPY", version (1, 2 or 3), little-endian header length, a Python dict literal
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }, padding, then the raw C-order data.
// Reads f32, f64, f16, i64, i32, u8 arrays (converted to what the caller asks for); writes f32 and
// i64. A malformed file is an internvl::Error naming the file and the problem.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "internvl/core/dtype.hpp"
#include "internvl/core/error.hpp"
#include "internvl/core/tensor.hpp"
#include "internvl/io/write_file.hpp"

namespace internvl::io {

struct NpyArray {
  std::string descr;             // numpy type string, e.g. "<f4"
  std::vector<index_t> shape;
  std::vector<std::byte> bytes;  // C-order element data

  index_t numel() const {
    index_t n = 1;
    for (index_t e : shape) {
      n *= e;
    }
    return n;
  }
};

namespace detail {

inline std::size_t npy_item_size(const std::string& descr) {
  if (descr == "<f4" || descr == "<i4") return 4;
  if (descr == "<f8" || descr == "<i8") return 8;
  if (descr == "<f2") return 2;
  if (descr == "|u1" || descr == "|b1" || descr == "<u1") return 1;
  return 0;
}

// Value of `'key': <value>` in the header dict, up to the next top-level comma or brace.
inline std::string npy_header_field(const std::string& header, const std::string& key, const std::string& path) {
  const std::size_t at = header.find("'" + key + "'");
  INTERNVL_CHECK(at != std::string::npos, path, "npy header has no '", key, "' field: ", header);
  std::size_t p = header.find(':', at);
  INTERNVL_CHECK(p != std::string::npos, path, "npy header field '", key, "' has no value");
  ++p;
  while (p < header.size() && header[p] == ' ') ++p;
  std::size_t end = p;
  if (p < header.size() && header[p] == '(') {
    end = header.find(')', p);
    INTERNVL_CHECK(end != std::string::npos, path, "npy header shape is not closed: ", header);
    return header.substr(p, end - p + 1);
  }
  if (p < header.size() && header[p] == '\'') {
    end = header.find('\'', p + 1);
    INTERNVL_CHECK(end != std::string::npos, path, "npy header string is not closed: ", header);
    return header.substr(p + 1, end - p - 1);
  }
  while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  return header.substr(p, end - p);
}

}  // namespace detail

inline NpyArray read_npy(const std::string& path) {
  std::error_code ec;
  INTERNVL_CHECK(!std::filesystem::is_directory(path, ec), path, "is a directory, not a .npy file");
  std::ifstream in(path, std::ios::binary);
  INTERNVL_CHECK(in.good(), path, "cannot open file");
  char magic[8] = {};
  in.read(magic, 8);
  INTERNVL_CHECK(in.gcount() == 8 && std::memcmp(magic, "\x93NUMPY", 6) == 0, path, "not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(magic[6]);
  INTERNVL_CHECK(major >= 1 && major <= 3, path, "unsupported .npy version ", major);
  std::uint32_t header_len = 0;
  unsigned char len_bytes[4] = {};
  const int len_size = major == 1 ? 2 : 4;
  in.read(reinterpret_cast<char*>(len_bytes), len_size);
  INTERNVL_CHECK(in.gcount() == len_size, path, "truncated .npy header");
  for (int i = len_size - 1; i >= 0; --i) {
    header_len = (header_len << 8) | len_bytes[i];
  }
  INTERNVL_CHECK(header_len < (1u << 20), path, "implausible .npy header length ", header_len);
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  INTERNVL_CHECK(in.gcount() == static_cast<std::streamsize>(header_len), path, "truncated .npy header");

  NpyArray array;
  array.descr = detail::npy_header_field(header, "descr", path);
  INTERNVL_CHECK(detail::npy_item_size(array.descr) != 0, path, "unsupported .npy dtype '", array.descr,
                 "' (supported: <f4 <f8 <f2 <i8 <i4 |u1 |b1)");
  INTERNVL_CHECK(detail::npy_header_field(header, "fortran_order", path) == "False", path,
                 "Fortran-order .npy arrays are not supported; save with np.ascontiguousarray");
  const std::string shape = detail::npy_header_field(header, "shape", path);
  // The data must fill the rest of the file: sizes are checked against it before anything is allocated,
  // so a header that claims more (or a product of dimensions that overflows) is an error, not a crash.
  const auto header_end = static_cast<std::uintmax_t>(in.tellg());
  const std::uintmax_t file_size = std::filesystem::file_size(path, ec);
  INTERNVL_CHECK(!ec && file_size >= header_end, path, "cannot read the file's size");
  const std::uintmax_t item = detail::npy_item_size(array.descr);
  const std::uintmax_t max_elements = (file_size - header_end) / item;
  std::uintmax_t elements = 1;
  for (std::size_t p = 1; p < shape.size();) {
    while (p < shape.size() && (shape[p] == ' ' || shape[p] == ',')) ++p;
    if (p >= shape.size() || shape[p] == ')') break;
    std::size_t used = 0;
    long long e = -1;
    try {
      e = std::stoll(shape.substr(p), &used);
    } catch (const std::exception&) {
      fail(path, "bad .npy shape ", shape);
    }
    INTERNVL_CHECK(e >= 0, path, "negative dimension in .npy shape ", shape);
    const auto extent = static_cast<std::uintmax_t>(e);
    INTERNVL_CHECK(extent == 0 || elements <= max_elements / extent, path,
                   "truncated .npy data: shape ", shape, " needs more than the ", file_size - header_end,
                   " bytes after the header");
    elements *= extent;
    array.shape.push_back(e);
    p += used;
  }
  const auto bytes = static_cast<std::size_t>(elements * item);
  array.bytes.resize(bytes);
  in.read(reinterpret_cast<char*>(array.bytes.data()), static_cast<std::streamsize>(bytes));
  INTERNVL_CHECK(in.gcount() == static_cast<std::streamsize>(bytes), path, "truncated .npy data: expected ", bytes,
                 " bytes for shape ", shape);
  return array;
}

// Element i of the array as a double, whatever its stored type.
inline double npy_element(const NpyArray& a, index_t i) {
  const std::byte* p = a.bytes.data() + static_cast<std::size_t>(i) * detail::npy_item_size(a.descr);
  auto load = [p]<class T>(T) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
  };
  if (a.descr == "<f4") return load(float{});
  if (a.descr == "<f8") return load(double{});
  if (a.descr == "<f2") return f16_bits_to_float(load(std::uint16_t{}));
  if (a.descr == "<i8") return static_cast<double>(load(std::int64_t{}));
  if (a.descr == "<i4") return load(std::int32_t{});
  return static_cast<double>(load(std::uint8_t{}));
}

// An array of the given rank as float32 (converting other numeric types); `path` names it in errors.
template <std::size_t Rank>
Tensor<float, Rank> npy_to_f32(const NpyArray& a, const std::string& path) {
  INTERNVL_CHECK(static_cast<int>(a.shape.size()) == Rank, path, "expected a rank-", Rank, " array, got rank ",
                 a.shape.size());
  Extents<Rank> shape{};
  for (std::size_t d = 0; d < Rank; ++d) {
    shape[d] = a.shape[d];
  }
  Tensor<float, Rank> t(shape);
  if (a.descr == "<f4") {
    std::memcpy(t.data(), a.bytes.data(), a.bytes.size());
  } else {
    for (index_t i = 0; i < a.numel(); ++i) {
      t.data()[i] = static_cast<float>(npy_element(a, i));
    }
  }
  return t;
}

// Reads an array of the given rank as float32 (converting other numeric types).
template <std::size_t Rank>
Tensor<float, Rank> read_npy_f32(const std::string& path) {
  return npy_to_f32<Rank>(read_npy(path), path);
}

namespace detail {

inline void write_npy_bytes(const std::string& path, const std::string& descr, const std::vector<index_t>& shape,
                            const void* data, std::size_t bytes) {
  std::string dims;
  for (index_t e : shape) {
    dims += std::to_string(e) + ", ";
  }
  if (shape.size() > 1) {
    dims.resize(dims.size() - 2);
  } else if (shape.size() == 1) {
    dims.resize(dims.size() - 1);  // "(5,)"
  }
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  const auto len = static_cast<std::uint16_t>(header.size());
  const char prefix[10] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<char>(len & 0xFF),
                           static_cast<char>(len >> 8)};
  write_file(path, {std::as_bytes(std::span(prefix)), std::as_bytes(std::span(header)),
                    std::span(static_cast<const std::byte*>(data), bytes)});
}

}  // namespace detail

// Writes a float32 array (a strided view is written in row-major order).
template <class T, std::size_t Rank>
  requires std::is_same_v<std::remove_const_t<T>, float>
void write_npy(const std::string& path, const TensorView<T, Rank>& v) {
  std::vector<float> dense;
  dense.reserve(static_cast<std::size_t>(v.numel()));
  for_each_element(v, [&](float x) { dense.push_back(x); });
  detail::write_npy_bytes(path, "<f4", std::vector<index_t>(v.shape().begin(), v.shape().end()), dense.data(),
                          dense.size() * sizeof(float));
}

inline void write_npy(const std::string& path, const std::vector<std::int64_t>& values) {
  detail::write_npy_bytes(path, "<i8", {static_cast<index_t>(values.size())}, values.data(),
                          values.size() * sizeof(std::int64_t));
}

}  // namespace internvl::io
