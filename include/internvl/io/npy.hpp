// NumPy .npy files in and out, so results can be compared with numpy / PyTorch directly.
//   format: "\x93NUMPY", version (1, 2 or 3), little-endian header length, a Python dict literal
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }, padding, then the raw C-order data.
// Reads f32, f64, f16, i64, i32, u8 arrays (converted to what the caller asks for) from a file
// (read_npy, through a read-only mapping) or its bytes (parse_npy); writes f32 and i64. A malformed
// file is an internvl::Error naming the file and the problem (tests/io/fuzz_npy.cpp fuzzes parse_npy).
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "internvl/core/dtype.hpp"
#include "internvl/core/error.hpp"
#include "internvl/core/tensor.hpp"
#include "internvl/io/mapped_file.hpp"
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

// The extents of a shape tuple "(d0, d1, ...)" ("()" for a scalar, "(n,)" for one dimension). Their
// product, leaving zeros out, must fit index_t, and the elements must fit in the `data_bytes` that follow
// the header: a header that claims more data than the file has is an error, never an allocation.
inline std::vector<index_t> npy_shape(const std::string& tuple, std::size_t item_size, std::size_t data_bytes,
                                      const std::string& path) {
  INTERNVL_CHECK(tuple.size() >= 2 && tuple.front() == '(' && tuple.back() == ')', path,
                 "the .npy shape must be a tuple, got ", tuple);
  constexpr auto kMaxProduct = static_cast<std::uintmax_t>(std::numeric_limits<index_t>::max());
  std::vector<index_t> shape;
  std::uintmax_t nonzero_product = 1;
  bool empty = false;
  const char* p = tuple.data() + 1;
  const char* const end = tuple.data() + tuple.size() - 1;  // at the closing parenthesis
  const auto skip_spaces = [&] {
    while (p < end && *p == ' ') ++p;
  };
  for (skip_spaces(); p < end; skip_spaces()) {
    std::uintmax_t extent = 0;
    const auto [next, error] = std::from_chars(p, end, extent);
    INTERNVL_CHECK(error == std::errc{} || error == std::errc::result_out_of_range, path, "bad .npy shape ", tuple,
                   " (extents are non-negative integers)");
    INTERNVL_CHECK(error == std::errc{} && (extent == 0 || nonzero_product <= kMaxProduct / extent), path,
                   "the .npy shape ", tuple, " has too many elements (its extents multiply past 2^63)");
    empty = empty || extent == 0;
    nonzero_product *= std::max<std::uintmax_t>(extent, 1);
    shape.push_back(static_cast<index_t>(extent));
    p = next;
    skip_spaces();
    INTERNVL_CHECK(p == end || *p == ',', path, "bad .npy shape ", tuple, " (extents are separated by commas)");
    if (p < end) ++p;
  }
  const std::uintmax_t elements = empty ? 0 : nonzero_product;
  INTERNVL_CHECK(elements <= data_bytes / item_size, path, "truncated .npy data: shape ", tuple, " needs ", elements,
                 " elements of ", item_size, " bytes after the header, the file has ", data_bytes, " bytes");
  return shape;
}

}  // namespace detail

// The array in `file`, the whole content of a .npy file; `path` names it in errors.
inline NpyArray parse_npy(std::span<const std::byte> file, const std::string& path) {
  constexpr std::size_t kPrefixBytes = 8;  // magic and version
  INTERNVL_CHECK(file.size() >= kPrefixBytes && std::memcmp(file.data(), "\x93NUMPY", 6) == 0, path,
                 "not a .npy file (bad magic)");
  const int major = static_cast<int>(file[6]);
  INTERNVL_CHECK(major >= 1 && major <= 3, path, "unsupported .npy version ", major);
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  INTERNVL_CHECK(file.size() >= kPrefixBytes + length_bytes, path, "truncated .npy header");
  std::uint32_t header_len = 0;
  for (std::size_t i = length_bytes; i-- > 0;) {
    header_len = (header_len << 8) | static_cast<std::uint32_t>(file[kPrefixBytes + i]);
  }
  INTERNVL_CHECK(header_len < (1u << 20), path, "implausible .npy header length ", header_len);
  const std::size_t header_begin = kPrefixBytes + length_bytes;
  INTERNVL_CHECK(file.size() - header_begin >= header_len, path, "truncated .npy header");
  const std::string header(reinterpret_cast<const char*>(file.data() + header_begin), header_len);
  const std::span<const std::byte> data = file.subspan(header_begin + header_len);

  NpyArray array;
  array.descr = detail::npy_header_field(header, "descr", path);
  const std::size_t item_size = detail::npy_item_size(array.descr);
  INTERNVL_CHECK(item_size != 0, path, "unsupported .npy dtype '", array.descr,
                 "' (supported: <f4 <f8 <f2 <i8 <i4 |u1 |b1)");
  INTERNVL_CHECK(detail::npy_header_field(header, "fortran_order", path) == "False", path,
                 "Fortran-order .npy arrays are not supported; save with np.ascontiguousarray");
  array.shape = detail::npy_shape(detail::npy_header_field(header, "shape", path), item_size, data.size(), path);
  const auto bytes = static_cast<std::size_t>(array.numel()) * item_size;
  array.bytes.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(bytes));
  return array;
}

// Reads a .npy file (see parse_npy).
inline NpyArray read_npy(const std::string& path) { return parse_npy(MappedFile(path).bytes(), path); }

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
  if (a.numel() == 0) {
    return t;  // nothing to copy (and memcpy may not be given the null pointers of empty storage)
  }
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

// Writes a float32 array (a strided view is written in row-major order; a contiguous one straight from its
// memory, without a copy).
template <class T, std::size_t Rank>
  requires std::is_same_v<std::remove_const_t<T>, float>
void write_npy(const std::string& path, const TensorView<T, Rank>& v) {
    const std::vector<index_t> shape(v.shape().begin(), v.shape().end());
    if (v.is_contiguous()) {
      detail::write_npy_bytes(path, "<f4", shape, v.data(), static_cast<std::size_t>(v.numel()) * sizeof(float));
      return;
    }
  std::vector<float> dense;
  dense.reserve(static_cast<std::size_t>(v.numel()));
  for_each_element(v, [&](float x) { dense.push_back(x); });
  detail::write_npy_bytes(path, "<f4", shape, dense.data(), dense.size() * sizeof(float));
}

inline void write_npy(const std::string& path, const std::vector<std::int64_t>& values) {
  detail::write_npy_bytes(path, "<i8", {static_cast<index_t>(values.size())}, values.data(),
                          values.size() * sizeof(std::int64_t));
}

}  // namespace internvl::io
