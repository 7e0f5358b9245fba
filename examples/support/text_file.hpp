// read_lines: the lines of a text file given on the command line (class labels, prompt templates, texts,
// image paths; read_list also takes the .json lists of configs/labels/), without their line endings ("\n" or "\r\n") or
// a leading UTF-8 byte order mark (which SentencePiece would otherwise encode as a token of the first line). A missing,
// unreadable or directory path, or (for text) a line that is not well-formed UTF-8 (text/utf8.hpp), is an
// internvl::Error naming the file and what it was meant to be.
#pragma once

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "internvl/core/error.hpp"
#include "internvl/io/json.hpp"
#include "internvl/text/utf8.hpp"

namespace internvl::examples {

// What the lines must be: UTF-8 text (labels, templates, texts: SentencePiece reads them) or any bytes
// but newlines (file paths, which Linux does not require to be UTF-8).
enum class Lines { utf8, bytes };

inline std::vector<std::string> read_lines(const std::string& path, const std::string& what,
                                           Lines lines_are = Lines::utf8) {
  std::error_code ec;
  INTERNVL_CHECK(!std::filesystem::is_directory(path, ec), path, "is a directory, not the ", what);
  std::ifstream in(path);
  INTERNVL_CHECK(in.good(), path, "cannot read the ", what);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF"; lines.empty() && line.starts_with(kByteOrderMark)) {
      line.erase(0, kByteOrderMark.size());
    }
    const std::optional<std::size_t> bad = lines_are == Lines::utf8 ? text::first_ill_formed_utf8(line) : std::nullopt;
    INTERNVL_CHECK(!bad, path + ":" + std::to_string(lines.size() + 1), "the ", what, " is not UTF-8 text (byte ",
                   bad.value_or(0) + 1, " of this line starts no well-formed UTF-8 sequence)");
    lines.push_back(line);
  }
  INTERNVL_CHECK(!in.bad(), path, "reading the ", what, " failed");
  return lines;
}

// One entry of a list file, and where it is: "FILE:LINE", or "FILE: KEY[i]" in a .json file.
struct ListEntry {
  std::string text;
  std::string where;
};

// The list `key` of a .json file as configs/labels/ has them (an object whose `key` holds an array of non-empty
// strings: "labels" of imagenet1k.json, "templates" of imagenet1k_templates.json), read from `path`.
inline std::vector<ListEntry> json_list(const nlohmann::json& file, const std::string& path, const std::string& key,
                                        const std::string& what) {
  INTERNVL_CHECK(file.is_object() && file.contains(key) && file.at(key).is_array(), path, "the ", what,
                 " must be a JSON object with an array \"", key, "\" (as in configs/labels/)");
  std::vector<ListEntry> entries;
  for (const nlohmann::json& entry : file.at(key)) {
    const std::string where = path + ": " + key + "[" + std::to_string(entries.size()) + "]";
    INTERNVL_CHECK(entry.is_string() && !entry.get<std::string>().empty(), where, "expected a non-empty string, got ",
                   entry.dump());
    entries.push_back({entry.get<std::string>(), where});
  }
  return entries;
}

// A list of strings from a file: a .json file's list `key` (json_list), or any other file's lines (read_lines,
// UTF-8), blank ones included for the caller to judge.
inline std::vector<ListEntry> read_list(const std::string& path, const std::string& key, const std::string& what) {
  if (std::filesystem::path(path).extension() == ".json") {
    return json_list(io::read_json_file(path), path, key, what);
  }
  std::vector<ListEntry> entries;
  for (std::string& line : read_lines(path, what)) {
    entries.push_back({std::move(line), path + ":" + std::to_string(entries.size() + 1)});
  }
  return entries;
}

}  // namespace internvl::examples
