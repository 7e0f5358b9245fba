// --truth FILE of classify and zero_shot: the true class of each image, and the top-1 / top-5 accuracy of
// the run over them (heads/top_k_accuracy.hpp).
//   FILE     one image per line: its name, white space, its class index (0 .. K - 1), as ImageNet's
//            val.txt ("ILSVRC2012_val_00000001.JPEG 65") or the demo's labels.txt ("0021.png<TAB>1").
//            A name matches an image given as that path or whose file name it is (two images may not
//            share a file name that way); with --pixels the images are named 0, 1, ... Every image must
//            have a line (lines for other images are allowed), checked before the model loads.
#pragma once

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "internvl/core/error.hpp"
#include "internvl/heads/top_k_accuracy.hpp"
#include "support/cli.hpp"
#include "support/text_file.hpp"

namespace internvl::examples {

// The true class of each of the images called `names`, from the lines of `path`.
inline std::vector<index_t> read_class_truth(const std::string& path, const std::vector<std::string>& names,
                                             index_t classes) {
  std::map<std::string, std::pair<index_t, std::size_t>> class_of;  // name -> (class, line)
  const std::vector<std::string> lines = read_lines(path, "truth file", Lines::bytes);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const std::string where = path + ":" + std::to_string(i + 1);
    const std::size_t begin = line.find_first_not_of(" \t");
    if (begin == std::string::npos) {
      continue;
    }
    const std::size_t end = line.find_last_not_of(" \t") + 1;
    const std::size_t space = line.find_last_of(" \t", end - 1);
    INTERNVL_CHECK(space != std::string::npos && space > begin, where, "expected an image name and a class index");
    const std::string name = line.substr(begin, line.find_last_not_of(" \t", space) + 1 - begin);
    index_t label = -1;
    const auto [at, error] = std::from_chars(line.data() + space + 1, line.data() + end, label);
    INTERNVL_CHECK(error == std::errc() && at == line.data() + end && label >= 0 && label < classes, where, "'",
                   line.substr(space + 1, end - space - 1), "' is not a class index (0 to ", classes - 1, ")");
    const auto [previous, fresh] = class_of.emplace(name, std::pair{label, i + 1});
    INTERNVL_CHECK(fresh, where, "image ", name, " has a class already, on line ", previous->second.second);
  }
  std::vector<index_t> truth;
  std::map<std::string, std::string> image_of_file_name;  // file names matched so far, and their image
  for (const std::string& name : names) {
    auto found = class_of.find(name);
    if (found == class_of.end()) {
      const std::string file_name = std::filesystem::path(name).filename().string();
      found = class_of.find(file_name);
      const auto [first, fresh] = image_of_file_name.emplace(file_name, name);
      INTERNVL_CHECK(fresh || first->second == name, path, "images ", first->second, " and ", name,
                     " would both take the class of ", file_name, ": name them by their paths");
    }
    INTERNVL_CHECK(found != class_of.end(), path, "has no class for image ", name);
    truth.push_back(found->second.first);
  }
  return truth;
}

// The accuracy of a run with --truth FILE (nothing without it): the true classes, read at construction
// (before the model loads), each image's scores ranked as they come, and the top-1 and top-5 accuracy
// printed after the images' lines (top-5 where there are 5 classes or more).
class ClassTruth {
 public:
  ClassTruth(const Cli& cli, const std::vector<std::string>& names, index_t classes)
      : file_(cli.get("--truth")), names_(names), classes_(classes) {
    if (file_) {
      truth_ = read_class_truth(*file_, names, classes);
    }
  }

  // The scores [K] of image i (in the order of `names`).
  void add(CView<float, 1> scores, index_t i) {
    if (file_) {
      accuracy_.add(scores, truth_[static_cast<std::size_t>(i)], names_[static_cast<std::size_t>(i)]);
    }
  }

  void print() const {
    if (!file_) {
      return;
    }
    std::printf("# accuracy against %s (%lld images, in percent)\n", file_->c_str(),
                static_cast<long long>(accuracy_.count()));
    for (const index_t k : {index_t{1}, index_t{5}}) {
      if (k <= classes_) {
        std::printf("top-%lld\t%.2f\t(%lld right)\n", static_cast<long long>(k), 100 * accuracy_.at(k),
                    static_cast<long long>(accuracy_.right_at(k)));
      }
    }
  }

 private:
  std::optional<std::string> file_;
  const std::vector<std::string>& names_;
  index_t classes_;
  std::vector<index_t> truth_;
  heads::TopKAccuracy accuracy_;
};

}  // namespace internvl::examples
