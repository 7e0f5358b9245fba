// LabelSet: the classes of a labels file given on the command line (classify --labels, zero_shot
// --labels-file): a text file of one class name per line (blank lines at the end ignored), or a .json labels
// file of configs/labels/, whose
//   "labels"             the class names                                          (required)
//   "folders"            each class's folder in the dataset's ImageFolder layout, its WordNet id (optional;
//                        --truth-folders finds an image's class by it)
//   "imagenet1k_classes" each class's index among ImageNet-1K's 1000, increasing (optional; ImageNet-A and
//                        -R: the outputs of a 1000-class head that their evaluation keeps)
// A field that is not as described is an internvl::Error naming the file and the entry.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "internvl/core/error.hpp"
#include "internvl/io/json.hpp"
#include "support/text_file.hpp"

namespace internvl::examples {

struct LabelSet {
  std::vector<std::string> labels;
  std::vector<std::string> folders;         // one per label, or none
  std::vector<index_t> imagenet1k_classes;  // one per label, or none
};

namespace detail {

// The optional array `key` of a labels file: one entry per label, each checked by `read(entry, where)`.
template <class T, class Read>
std::vector<T> optional_column(const nlohmann::json& file, const std::string& path, const char* key, std::size_t labels,
                               Read read) {
  std::vector<T> column;
  if (!file.contains(key)) {
    return column;
  }
  INTERNVL_CHECK(file.at(key).is_array() && file.at(key).size() == labels, path, "\"", key,
                 "\" must be an array with one entry per label (", labels, ")");
  for (const nlohmann::json& entry : file.at(key)) {
    column.push_back(read(entry, path + ": " + key + "[" + std::to_string(column.size()) + "]"));
  }
  return column;
}

}  // namespace detail

inline LabelSet read_label_set(const std::string& path) {
  LabelSet set;
  const bool is_json = std::filesystem::path(path).extension() == ".json";
  const nlohmann::json file = is_json ? io::read_json_file(path) : nlohmann::json();
  std::vector<ListEntry> entries =
      is_json ? json_list(file, path, "labels", "labels file") : read_list(path, "labels", "labels file");
  while (!entries.empty() && entries.back().text.empty()) {
    entries.pop_back();
  }
  INTERNVL_CHECK(!entries.empty(), path, "the labels file has no label");
  for (ListEntry& entry : entries) {
    INTERNVL_CHECK(!entry.text.empty(), entry.where, "an empty label in the labels file");
    set.labels.push_back(std::move(entry.text));
  }
  if (!is_json) {
    return set;
  }
  std::set<std::string> folders;
  set.folders = detail::optional_column<std::string>(
      file, path, "folders", set.labels.size(), [&](const nlohmann::json& entry, const std::string& where) {
        INTERNVL_CHECK(entry.is_string() && !entry.get<std::string>().empty(), where, "expected a folder name, got ",
                       entry.dump());
        INTERNVL_CHECK(folders.insert(entry.get<std::string>()).second, where, "folder ", entry.dump(),
                       " is another class's already");
        return entry.get<std::string>();
      });
  index_t previous = -1;
  set.imagenet1k_classes = detail::optional_column<index_t>(
      file, path, "imagenet1k_classes", set.labels.size(), [&](const nlohmann::json& entry, const std::string& where) {
        INTERNVL_CHECK(entry.is_number_integer() && entry.get<index_t>() > previous && entry.get<index_t>() < 1000,
                       where, "expected an ImageNet-1K class index above ", previous, " and below 1000, got ",
                       entry.dump());
        previous = entry.get<index_t>();
        return previous;
      });
  return set;
}

}  // namespace internvl::examples
