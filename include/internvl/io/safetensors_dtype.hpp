// The element types a safetensors file may declare, as the format spells them ("F32", "BF16", "I64",
// ...: the 22 of safetensors 0.8), with their sizes in bits. Only F32, BF16 and F16 map onto the
// library's element types (DType) and have typed views; the others are parsed, validated and listed
// so that, e.g., a BatchNorm's I64 `num_batches_tracked` does not stop a checkpoint from loading.
// Sub-byte types (F4: 4 bits, F6_*: 6 bits) are packed; a tensor of them must fill whole bytes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "internvl/core/dtype.hpp"

namespace internvl::io {

enum class StoredDType : std::uint8_t {
  BOOL,
  U8,
  I8,
  U16,
  I16,
  U32,
  I32,
  U64,
  I64,
  F4,
  F6_E2M3,
  F6_E3M2,
  F8_E5M2,
  F8_E4M3,
  F8_E8M0,
  F8_E4M3FNUZ,
  F8_E5M2FNUZ,
  F16,
  BF16,
  F32,
  F64,
  C64,
};

namespace detail {

struct StoredDTypeInfo {
  StoredDType dtype;
  std::string_view name;
  int bits;
};

inline constexpr std::array<StoredDTypeInfo, 22> kStoredDTypes = {{
    {StoredDType::BOOL, "BOOL", 8},
    {StoredDType::U8, "U8", 8},
    {StoredDType::I8, "I8", 8},
    {StoredDType::U16, "U16", 16},
    {StoredDType::I16, "I16", 16},
    {StoredDType::U32, "U32", 32},
    {StoredDType::I32, "I32", 32},
    {StoredDType::U64, "U64", 64},
    {StoredDType::I64, "I64", 64},
    {StoredDType::F4, "F4", 4},
    {StoredDType::F6_E2M3, "F6_E2M3", 6},
    {StoredDType::F6_E3M2, "F6_E3M2", 6},
    {StoredDType::F8_E5M2, "F8_E5M2", 8},
    {StoredDType::F8_E4M3, "F8_E4M3", 8},
    {StoredDType::F8_E8M0, "F8_E8M0", 8},
    {StoredDType::F8_E4M3FNUZ, "F8_E4M3FNUZ", 8},
    {StoredDType::F8_E5M2FNUZ, "F8_E5M2FNUZ", 8},
    {StoredDType::F16, "F16", 16},
    {StoredDType::BF16, "BF16", 16},
    {StoredDType::F32, "F32", 32},
    {StoredDType::F64, "F64", 64},
    {StoredDType::C64, "C64", 64},
}};

constexpr const StoredDTypeInfo& info(StoredDType t) { return kStoredDTypes[static_cast<std::size_t>(t)]; }

static_assert(
    [] {
      for (std::size_t i = 0; i < kStoredDTypes.size(); ++i) {
        if (static_cast<std::size_t>(kStoredDTypes[i].dtype) != i) {
          return false;
        }
      }
      return true;
    }(),
    "kStoredDTypes must list the enumerators in declaration order");

}  // namespace detail

constexpr std::string_view name_of(StoredDType t) { return detail::info(t).name; }

// Size of one element in bits (4 and 6 for the packed sub-byte types).
constexpr int bit_size(StoredDType t) { return detail::info(t).bits; }

// The dtype named `name` exactly as the format spells it; nullopt for anything else.
constexpr std::optional<StoredDType> stored_dtype_named(std::string_view name) {
  for (const detail::StoredDTypeInfo& i : detail::kStoredDTypes) {
    if (i.name == name) {
      return i.dtype;
    }
  }
  return std::nullopt;
}

// The library element type a stored dtype holds (F32, BF16, F16); nullopt for the others.
constexpr std::optional<DType> element_dtype(StoredDType t) {
  switch (t) {
    case StoredDType::F32:
      return DType::f32;
    case StoredDType::BF16:
      return DType::bf16;
    case StoredDType::F16:
      return DType::f16;
    default:
      return std::nullopt;
  }
}

constexpr StoredDType stored_dtype(DType t) {
  switch (t) {
    case DType::bf16:
      return StoredDType::BF16;
    case DType::f16:
      return StoredDType::F16;
    case DType::f32:
      break;
  }
  return StoredDType::F32;
}

}  // namespace internvl::io
