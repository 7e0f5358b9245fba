// Element types: f32, bf16, f16, and the conversions between them.
//   bf16: 1 sign, 8 exponent, 7 mantissa bits (the top half of an f32).
//   f16 : 1 sign, 5 exponent, 10 mantissa bits (IEEE 754 binary16, with subnormals).
// float -> bf16/f16 rounds to nearest, ties to even; NaN stays NaN (quieted, sign and top payload
// bits kept), ±Inf stays ±Inf, subnormals are produced and read exactly. bf16/f16 -> float is exact.
// The 16-bit types are plain structs holding the bits: arithmetic always happens in f32.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "internvl/core/macros.hpp"

namespace internvl {

INTERNVL_HOST_DEVICE constexpr std::uint16_t float_to_bf16_bits(float value) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(value);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) {  // NaN: keep sign and payload top, force the quiet bit
    return static_cast<std::uint16_t>((u >> 16) | 0x0040u);
  }
  const std::uint32_t round_bias = 0x7FFFu + ((u >> 16) & 1u);  // ties to even
  return static_cast<std::uint16_t>((u + round_bias) >> 16);
}

INTERNVL_HOST_DEVICE constexpr float bf16_bits_to_float(std::uint16_t bits) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

INTERNVL_HOST_DEVICE constexpr std::uint16_t float_to_f16_bits(float value) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(value);
  const auto sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t a = u & 0x7FFFFFFFu;
  if (a >= 0x7F800000u) {  // Inf, or NaN with its top payload bits and the quiet bit
    const std::uint32_t nan_bits = a > 0x7F800000u ? (0x0200u | ((a >> 13) & 0x03FFu)) : 0u;
    return static_cast<std::uint16_t>(sign | 0x7C00u | nan_bits);
  }
  if (a >= 0x477FF000u) {  // >= 65520 rounds past the largest finite half (65504)
    return static_cast<std::uint16_t>(sign | 0x7C00u);
  }
  if (a < 0x38800000u) {  // below 2^-14: a subnormal half, in units of 2^-24
    const int exponent = static_cast<int>(a >> 23);
    const int shift = 126 - exponent;  // value = mantissa * 2^(exponent - 150) = q * 2^-24
    if (shift > 25) {
      return sign;
    }
    const std::uint32_t mantissa = (a & 0x007FFFFFu) | 0x00800000u;
    std::uint32_t q = mantissa >> shift;
    const std::uint32_t rest = mantissa & ((1u << shift) - 1u);
    const std::uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (q & 1u))) {
      ++q;  // may carry into the smallest normal, whose encoding follows on directly
    }
    return static_cast<std::uint16_t>(sign | q);
  }
  std::uint32_t h = a - 0x38000000u;  // rebias the exponent from 127 to 15
  h += 0x0FFFu + ((h >> 13) & 1u);    // ties to even; a carry moves into the exponent correctly
  return static_cast<std::uint16_t>(sign | (h >> 13));
}

INTERNVL_HOST_DEVICE constexpr float f16_bits_to_float(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1Fu;
  std::uint32_t mantissa = bits & 0x03FFu;
  if (exponent == 0x1Fu) {
    return std::bit_cast<float>(sign | 0x7F800000u | (mantissa << 13));
  }
  if (exponent != 0) {
    return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
  }
  if (mantissa == 0) {
    return std::bit_cast<float>(sign);
  }
  std::uint32_t e = 113;  // normalise the subnormal: value = mantissa * 2^-24
  while ((mantissa & 0x0400u) == 0) {
    mantissa <<= 1;
    --e;
  }
  return std::bit_cast<float>(sign | (e << 23) | ((mantissa & 0x03FFu) << 13));
}

// A bf16 value. Converting from float rounds (explicit); converting to float is exact (implicit).
struct bf16 {
  std::uint16_t bits = 0;

  bf16() = default;
  INTERNVL_HOST_DEVICE constexpr explicit bf16(float value) : bits(float_to_bf16_bits(value)) {}
  INTERNVL_HOST_DEVICE static constexpr bf16 from_bits(std::uint16_t b) {
    bf16 v;
    v.bits = b;
    return v;
  }
  INTERNVL_HOST_DEVICE constexpr operator float() const { return bf16_bits_to_float(bits); }
};

// An IEEE half value. Same conversion rules as bf16.
struct f16 {
  std::uint16_t bits = 0;

  f16() = default;
  INTERNVL_HOST_DEVICE constexpr explicit f16(float value) : bits(float_to_f16_bits(value)) {}
  INTERNVL_HOST_DEVICE static constexpr f16 from_bits(std::uint16_t b) {
    f16 v;
    v.bits = b;
    return v;
  }
  INTERNVL_HOST_DEVICE constexpr operator float() const { return f16_bits_to_float(bits); }
};

static_assert(sizeof(bf16) == 2 && sizeof(f16) == 2 && std::is_trivially_copyable_v<bf16>);

// Run-time tag for the storage type of a tensor (weights keep the dtype they were stored in).
enum class DType : std::uint8_t { f32, bf16, f16 };

template <class T>
inline constexpr bool is_element_type_v =
    std::is_same_v<T, float> || std::is_same_v<T, bf16> || std::is_same_v<T, f16>;

template <class T>
constexpr DType dtype_of() {
  static_assert(is_element_type_v<std::remove_const_t<T>>, "internvl: element types are float, bf16 and f16");
  if constexpr (std::is_same_v<std::remove_const_t<T>, float>) {
    return DType::f32;
  } else if constexpr (std::is_same_v<std::remove_const_t<T>, bf16>) {
    return DType::bf16;
  } else {
    return DType::f16;
  }
}

constexpr std::size_t size_of(DType t) { return t == DType::f32 ? 4 : 2; }

constexpr std::string_view name_of(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::bf16: return "bf16";
    case DType::f16: return "f16";
  }
  return "?";
}

// Calls fn with a value of the C++ type that `t` names: visit_dtype(t, []<class T>(T) { ... }).
template <class Fn>
decltype(auto) visit_dtype(DType t, Fn&& fn) {
  switch (t) {
    case DType::bf16: return fn(bf16{});
    case DType::f16: return fn(f16{});
    case DType::f32: break;
  }
  return fn(float{});
}

// Converts any element type to float (identity for float).
template <class T>
INTERNVL_HOST_DEVICE constexpr float to_float(T v) {
  return static_cast<float>(v);
}

// Converts a float to any element type, rounding to nearest even for bf16/f16.
template <class T>
INTERNVL_HOST_DEVICE constexpr T from_float(float v) {
  return T(v);
}

}  // namespace internvl
