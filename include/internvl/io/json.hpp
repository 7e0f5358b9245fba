// Strict JSON for the files a checkpoint is made of (safetensors headers, config.json, shard index):
// nlohmann::json's parser, plus three refusals that plain parsing lets through silently:
//   - a NUL byte (nlohmann takes it for the end of the input and ignores whatever follows),
//   - a key repeated in one object (nlohmann keeps the last one: a silently different model),
//   - nesting deeper than kMaxJsonDepth (no checkpoint file nests past a handful of levels, and
//     nlohmann's serializer and copies recurse, so unbounded depth could exhaust the stack).
// Every failure is an internvl::Error naming the file and, for syntax errors, the line and column.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "internvl/core/error.hpp"
#include "internvl/io/mapped_file.hpp"

namespace internvl::io {

inline constexpr int kMaxJsonDepth = 64;

namespace detail {

// The dotted path of keys leading to the current position, for messages: "weight_map.a.b".
inline std::string json_key_path(const std::vector<std::string>& keys) {
  std::string path;
  for (const std::string& key : keys) {
    path.append(path.empty() ? "" : ".").append(key);
  }
  return path.empty() ? "the top level" : "'" + path + "'";
}

}  // namespace detail

// Parses `text`; `where` (the file path) names the source in errors.
inline nlohmann::json parse_json(std::string_view text, std::string_view where) {
  const std::size_t nul = text.find('\0');
  INTERNVL_CHECK(nul == std::string_view::npos, where, "malformed JSON: NUL byte at offset ", nul,
                 " (JSON text cannot contain one)");
  struct Container {
    bool is_object;
    std::set<std::string> keys;
  };
  std::vector<Container> open;    // the objects and arrays being parsed, innermost last
  std::vector<std::string> path;  // the key that leads into each open object's current value
  const auto check_keys = [&](int /*depth*/, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        INTERNVL_CHECK(open.size() < kMaxJsonDepth, where, "JSON nested deeper than ", kMaxJsonDepth, " levels at ",
                       detail::json_key_path(path));
        open.push_back({event == Event::object_start, {}});
        if (event == Event::object_start) {
          path.emplace_back();
        }
        break;
      case Event::key: {
        const std::string& key = parsed.get_ref<const std::string&>();
        path.back() = key;
        const bool fresh = open.back().keys.insert(key).second;
        INTERNVL_CHECK(fresh, where, "duplicate JSON key ", detail::json_key_path(path));
        break;
      }
      case Event::object_end:
      case Event::array_end:
        if (open.back().is_object) {
          path.pop_back();
        }
        open.pop_back();
        break;
      case Event::value:
        break;
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), check_keys);
  } catch (const nlohmann::json::exception& e) {
    std::string_view message = e.what();  // "[json.exception.parse_error.101] parse error at line 3, ..."
    if (const std::size_t bracket = message.find("] "); message.starts_with("[json.") && bracket != message.npos) {
      message.remove_prefix(bracket + 2);
    }
    fail(where, "malformed JSON: ", message);
  }
}

// Reads and parses a JSON file (mapped, so a FIFO or a directory in its place is an error, not a hang).
inline nlohmann::json read_json_file(const std::string& path) {
  const MappedFile file(path);
  const std::span<const std::byte> bytes = file.bytes();
  return parse_json({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, path);
}

}  // namespace internvl::io
