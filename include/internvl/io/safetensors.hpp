// SafetensorsFile: a .safetensors file, memory-mapped and validated in full before any use.
//   layout: u64 little-endian N | N bytes of JSON header | data section
//   header: {"__metadata__": {str: str} (optional),
//            "<name>": {"dtype": "BF16", "shape": [d0, ...], "data_offsets": [begin, end]}, ...}
//   offsets are relative to the data section; shape·bits/8 == end − begin; the ranges tile the data
//   section exactly, without overlaps or holes (the format forbids both). Other fields of an entry
//   are ignored, as the reference reader ignores them (they cannot change where the data lies).
// Everything is checked at open time, so a later typed view can trust its bytes; any violation is an
// internvl::Error naming the file and the problem. Tensors are zero-copy views into the mapping, with
// one exception: the format does not require alignment (Python's writer aligns; others may not), so a
// float tensor whose bytes are not aligned to its element size is copied once, at open time, into
// aligned memory owned by this object (copied_tensor_count() says how many). Views stay valid while
// this object lives, also across moves of it.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "internvl/core/tensor.hpp"
#include "internvl/io/json.hpp"
#include "internvl/io/mapped_file.hpp"
#include "internvl/io/stored_tensor.hpp"

namespace internvl::io {

static_assert(std::endian::native == std::endian::little, "internvl: safetensors data is little-endian");

// Header lengths above this are refused before anything is read (the reference implementation's limit).
inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

namespace detail {

// One validated header entry; offsets are relative to the data section.
struct SafetensorsEntry {
  std::string name;
  StoredDType dtype;
  std::vector<index_t> shape;
  std::uint64_t begin;
  std::uint64_t end;
};

// A short rendering of a JSON value for messages (containers by type only: they may be huge).
inline std::string describe_json(const nlohmann::json& value) {
  if (value.is_structured()) {
    return std::string("a JSON ") + value.type_name();
  }
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return text.size() > 40 ? text.substr(0, 40) + "..." : text;
}

// A non-negative integer that fits in index_t, or an error naming `what`.
inline std::uint64_t json_count(const nlohmann::json& value, const std::string& where, const std::string& what) {
  INTERNVL_CHECK(value.is_number_unsigned() && value.get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX),
                 where, what, " is ", describe_json(value), ", expected a non-negative integer");
  return value.get<std::uint64_t>();
}

inline SafetensorsEntry parse_safetensors_entry(const std::string& name, const nlohmann::json& entry,
                                                std::uint64_t data_size, const std::string& where) {
  const std::string tensor = "tensor '" + name + "'";
  INTERNVL_CHECK(entry.is_object(), where, tensor, ": header entry is ", describe_json(entry),
                 ", expected an object with dtype, shape and data_offsets");
  const auto field = [&](const char* key) -> const nlohmann::json& {
    const auto it = entry.find(key);
    INTERNVL_CHECK(it != entry.end(), where, tensor, ": missing field '", key, "'");
    return *it;
  };

  const nlohmann::json& dtype = field("dtype");
  INTERNVL_CHECK(dtype.is_string(), where, tensor, ": dtype is ", describe_json(dtype), ", expected a string");
  const std::optional<StoredDType> stored = stored_dtype_named(dtype.get_ref<const std::string&>());
  INTERNVL_CHECK(stored.has_value(), where, tensor, ": unknown dtype ", describe_json(dtype));

  const nlohmann::json& shape_json = field("shape");
  INTERNVL_CHECK(shape_json.is_array(), where, tensor, ": shape is ", describe_json(shape_json),
                 ", expected an array of dimensions");
  std::vector<index_t> shape;
  std::uint64_t nonzero_product = 1;  // bounded so that no prefix product of the shape overflows
  bool empty = false;
  for (std::size_t d = 0; d < shape_json.size(); ++d) {
    const std::uint64_t extent = json_count(shape_json[d], where, tensor + ": shape dimension " + std::to_string(d));
    shape.push_back(static_cast<index_t>(extent));
    if (extent == 0) {
      empty = true;
      continue;
    }
    const bool overflow = __builtin_mul_overflow(nonzero_product, extent, &nonzero_product);
    INTERNVL_CHECK(!overflow && nonzero_product <= static_cast<std::uint64_t>(INT64_MAX), where, tensor, ": shape ",
                   shape_string(shape), "... has too many elements");
  }
  const std::uint64_t numel = empty ? 0 : nonzero_product;
  std::uint64_t bits = 0;
  INTERNVL_CHECK(!__builtin_mul_overflow(numel, static_cast<std::uint64_t>(bit_size(*stored)), &bits), where, tensor,
                 ": shape ", shape_string(shape), " has too many elements");
  INTERNVL_CHECK(bits % 8 == 0, where, tensor, ": ", numel, " elements of ", name_of(*stored),
                 " do not fill whole bytes");

  const nlohmann::json& offsets = field("data_offsets");
  INTERNVL_CHECK(offsets.is_array() && offsets.size() == 2, where, tensor, ": data_offsets is ", describe_json(offsets),
                 ", expected [begin, end]");
  const std::uint64_t begin = json_count(offsets[0], where, tensor + ": data_offsets begin");
  const std::uint64_t end = json_count(offsets[1], where, tensor + ": data_offsets end");
  const std::string range = internvl::detail::concat("[", begin, ", ", end, ")");
  INTERNVL_CHECK(begin <= end, where, tensor, ": data_offsets ", range, " are reversed");
  INTERNVL_CHECK(end <= data_size, where, tensor, ": data_offsets ", range, " are out of range: past the end of the ",
                 data_size, "-byte data section (truncated file?)");
  INTERNVL_CHECK(end - begin == bits / 8, where, tensor, ": shape ", shape_string(shape), " of ", name_of(*stored),
                 " needs ", bits / 8, " bytes, but data_offsets ", range, " hold ", end - begin);
  return {name, *stored, std::move(shape), begin, end};
}

// The entries must tile [0, data_size) exactly, in some order.
inline void check_safetensors_layout(std::vector<const SafetensorsEntry*> by_offset, std::uint64_t data_size,
                                     const std::string& where) {
  std::sort(by_offset.begin(), by_offset.end(), [](const SafetensorsEntry* a, const SafetensorsEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::uint64_t covered = 0;
  const SafetensorsEntry* previous = nullptr;
  for (const SafetensorsEntry* e : by_offset) {
    INTERNVL_CHECK(e->begin >= covered, where, "tensor '", e->name, "': data_offsets [", e->begin, ", ", e->end,
                   ") overlap tensor '", previous->name, "' [", previous->begin, ", ", previous->end, ")");
    INTERNVL_CHECK(e->begin == covered, where, "hole in the data section: bytes [", covered, ", ", e->begin,
                   ") belong to no tensor");
    covered = e->end;
    previous = e;
  }
  INTERNVL_CHECK(covered == data_size, where, "hole in the data section: bytes [", covered, ", ", data_size,
                 ") at its end belong to no tensor");
}

}  // namespace detail

class SafetensorsFile {
 public:
  // Maps and validates the file at `path`.
  explicit SafetensorsFile(const std::string& path) : contents_(std::make_unique<Contents>()) {
    contents_->path = path;
    contents_->mapping.emplace(path);
    contents_->bytes = contents_->mapping->bytes();
    parse();
  }

  // Validates a copy of `bytes` (for tests and fuzzing); `name` stands for the file in errors.
  static SafetensorsFile from_bytes(std::span<const std::byte> bytes, std::string name) {
    auto contents = std::make_unique<Contents>();
    contents->path = std::move(name);
    contents->owned = aligned_array<std::byte>(bytes.size());
    std::copy(bytes.begin(), bytes.end(), contents->owned.get());
    contents->bytes = {contents->owned.get(), bytes.size()};
    return SafetensorsFile(std::move(contents));
  }

  const std::string& path() const { return contents_->path; }
  const std::map<std::string, std::string>& metadata() const { return contents_->metadata; }
  // All tensors, sorted by name.
  std::span<const StoredTensor> tensors() const { return contents_->tensors; }
  std::size_t size() const { return contents_->tensors.size(); }
  std::vector<std::string> names() const {
    std::vector<std::string> names;
    for (const StoredTensor& t : contents_->tensors) {
      names.push_back(t.name());
    }
    return names;
  }
  // Float tensors that were not aligned in the file and live in a copy (0 for Python-written files).
  std::size_t copied_tensor_count() const { return contents_->aligned_copies.size(); }

  // The tensor called `name`, or nullptr.
  const StoredTensor* find(std::string_view name) const {
    const auto& all = contents_->tensors;
    const auto it = std::lower_bound(all.begin(), all.end(), name,
                                     [](const StoredTensor& t, std::string_view n) { return t.name() < n; });
    return it != all.end() && it->name() == name ? &*it : nullptr;
  }
  bool has(std::string_view name) const { return find(name) != nullptr; }
  const StoredTensor& tensor(std::string_view name) const {
    const StoredTensor* t = find(name);
    INTERNVL_CHECK(t != nullptr, path(), "no tensor named '", name, "' (the file has ", size(), " tensors)");
    return *t;
  }

 private:
  struct Contents {  // on the heap, so views and StoredTensor references survive moves of the file
    std::string path;
    std::optional<MappedFile> mapping;
    std::unique_ptr<std::byte[], AlignedFree> owned;
    std::span<const std::byte> bytes;
    std::vector<std::unique_ptr<std::byte[], AlignedFree>> aligned_copies;
    std::vector<StoredTensor> tensors;
    std::map<std::string, std::string> metadata;
  };

  explicit SafetensorsFile(std::unique_ptr<Contents> contents) : contents_(std::move(contents)) { parse(); }

  void parse() {
    const std::string& where = contents_->path;
    const std::span<const std::byte> bytes = contents_->bytes;
    INTERNVL_CHECK(bytes.size() >= 8, where, "file is ", bytes.size(),
                   " bytes, shorter than the 8-byte header length that starts a safetensors file");
    std::uint64_t header_size = 0;
    std::memcpy(&header_size, bytes.data(), 8);
    INTERNVL_CHECK(header_size <= kMaxSafetensorsHeaderBytes, where, "header length ", header_size,
                   " is absurd (the limit is ", kMaxSafetensorsHeaderBytes, " bytes): not a safetensors file?");
    INTERNVL_CHECK(header_size <= bytes.size() - 8, where, "header length ", header_size,
                   " runs past the end of the file (", bytes.size(), " bytes): truncated or not a safetensors file");
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()) + 8, header_size);
    const std::span<const std::byte> data = bytes.subspan(8 + header_size);

    const nlohmann::json header = parse_json(text, where);
    INTERNVL_CHECK(header.is_object(), where, "header is ", detail::describe_json(header), ", expected an object");
    std::vector<detail::SafetensorsEntry> entries;
    for (const auto& item : header.items()) {
      if (item.key() == "__metadata__") {
        read_metadata(item.value());
      } else {
        entries.push_back(detail::parse_safetensors_entry(item.key(), item.value(), data.size(), where));
      }
    }
    std::vector<const detail::SafetensorsEntry*> by_offset;
    for (const detail::SafetensorsEntry& e : entries) {
      by_offset.push_back(&e);
    }
    detail::check_safetensors_layout(std::move(by_offset), data.size(), where);

    for (detail::SafetensorsEntry& e : entries) {  // nlohmann objects iterate in key order: sorted by name
      std::span<const std::byte> tensor_bytes = data.subspan(e.begin, e.end - e.begin);
      const std::size_t align = static_cast<std::size_t>(bit_size(e.dtype)) / 8;
      if (element_dtype(e.dtype) && reinterpret_cast<std::uintptr_t>(tensor_bytes.data()) % align != 0) {
        auto& copy = contents_->aligned_copies.emplace_back(aligned_array<std::byte>(tensor_bytes.size()));
        std::copy(tensor_bytes.begin(), tensor_bytes.end(), copy.get());
        tensor_bytes = {copy.get(), tensor_bytes.size()};
      }
      contents_->tensors.emplace_back(std::move(e.name), e.dtype, std::move(e.shape), tensor_bytes, &contents_->path);
    }
  }

  void read_metadata(const nlohmann::json& metadata) {
    INTERNVL_CHECK(metadata.is_object(), contents_->path, "__metadata__ is ", detail::describe_json(metadata),
                   ", expected an object of strings");
    for (const auto& item : metadata.items()) {
      INTERNVL_CHECK(item.value().is_string(), contents_->path, "__metadata__ entry '", item.key(), "' is ",
                     detail::describe_json(item.value()), ", expected a string");
      contents_->metadata.emplace(item.key(), item.value().get<std::string>());
    }
  }

  std::unique_ptr<Contents> contents_;
};

}  // namespace internvl::io
