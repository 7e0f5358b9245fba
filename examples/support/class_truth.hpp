// --truth FILE and --truth-folders of classify and zero_shot: the true class of each image, and the top-1 /
// top-5 accuracy and the mean per-class recall of the run over them (heads/top_k_accuracy.hpp).
//   --truth FILE     one image per line: its name, white space, its class index (0 .. K - 1), as ImageNet's
//                    val.txt ("ILSVRC2012_val_00000001.JPEG 65") or the demo's labels.txt ("0021.png<TAB>1").
//                    A name matches an image given as that path or whose file name it is (two images may not
//                    share a file name that way); with --pixels the images are named 0, 1, ...
//   --truth FILE.json  ImageNet-ReaL's labels (real.json of google-research/reassessed-imagenet, also in the
//                    official classification code's meta_data/): entry i lists the right classes of
//                    ILSVRC2012_val_<i + 1, 8 digits>.JPEG, found by file name; an image with an empty list
//                    is not counted, as in the official evaluation, and an image may be right in several ways.
//   --truth-folders  the class is the image's folder: its name among the labels file's "folders" (WordNet
//                    ids: ImageNet's val/ sorted into folders, ImageNet-Sketch, -A, -R), or else an ImageNet-1K
//                    class index (ImageNetV2's folders 0 .. 999), one of the labels file's imagenet1k_classes
//                    where it keeps some.
// Every image must have a class (lines for other images are allowed) and be given once (it would count twice),
// checked before the model loads.
#pragma once

#include <algorithm>
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
#include "internvl/io/json.hpp"
#include "support/cli.hpp"
#include "support/text_file.hpp"

namespace internvl::examples {

// The right classes of each image: one, or (ImageNet-ReaL) several or none.
using ImageClasses = std::vector<std::vector<index_t>>;

namespace detail {

// The text's class index (0 .. classes - 1), or nothing where it is not one.
inline std::optional<index_t> class_index(const std::string& text, index_t classes) {
  index_t value = -1;
  const auto [at, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || at != text.data() + text.size() || value < 0 || value >= classes) {
    return std::nullopt;
  }
  return value;
}

// The entry of `classes_of` (keyed by image name or file name) for each of the images called `names`; an image
// without one is an error: "has no <entry> for image <name><hint>".
inline ImageClasses classes_by_name(const std::string& path,
                                    const std::map<std::string, std::vector<index_t>>& classes_of,
                                    const std::vector<std::string>& names, const std::string& entry,
                                    const std::string& hint = "") {
  ImageClasses truth;
  std::map<std::string, std::string> image_of_file_name;  // file names matched so far, and their image
  for (const std::string& name : names) {
    auto found = classes_of.find(name);
    if (found == classes_of.end()) {
      const std::string file_name = std::filesystem::path(name).filename().string();
      found = classes_of.find(file_name);
      const auto [first, fresh] = image_of_file_name.emplace(file_name, name);
      INTERNVL_CHECK(fresh || first->second == name, path, "images ", first->second, " and ", name,
                     " would both take the class of ", file_name, ": name them by their paths");
    }
    INTERNVL_CHECK(found != classes_of.end(), path, "has no ", entry, " for image ", name, hint);
    truth.push_back(found->second);
  }
  return truth;
}

}  // namespace detail

// The true class of each of the images called `names`, from the lines of `path` (val.txt's format).
inline ImageClasses read_class_truth(const std::string& path, const std::vector<std::string>& names, index_t classes) {
  std::map<std::string, std::vector<index_t>> classes_of;
  std::map<std::string, std::size_t> line_of;
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
    const std::string label = line.substr(space + 1, end - space - 1);
    const std::optional<index_t> index = detail::class_index(label, classes);
    INTERNVL_CHECK(index.has_value(), where, "'", label, "' is not a class index (0 to ", classes - 1, ")");
    const auto [previous, fresh] = line_of.emplace(name, i + 1);
    INTERNVL_CHECK(fresh, where, "image ", name, " has a class already, on line ", previous->second);
    classes_of[name] = {*index};
  }
  return detail::classes_by_name(path, classes_of, names, "class");
}

// The right classes of each image from ImageNet-ReaL's real.json (see the top of the file).
inline ImageClasses read_real_truth(const std::string& path, const std::vector<std::string>& names, index_t classes) {
  const nlohmann::json real = io::read_json_file(path);
  INTERNVL_CHECK(real.is_array(), path, "ImageNet-ReaL labels must be a JSON array of lists of class indices");
  std::map<std::string, std::vector<index_t>> classes_of;
  for (std::size_t i = 0; i < real.size(); ++i) {
    const std::string where = path + ": [" + std::to_string(i) + "]";
    INTERNVL_CHECK(real[i].is_array(), where, "expected a list of class indices, got ", real[i].dump());
    std::vector<index_t> right;
    for (const nlohmann::json& c : real[i]) {
      INTERNVL_CHECK(c.is_number_integer() && c.get<index_t>() >= 0 && c.get<index_t>() < classes, where, c.dump(),
                     " is not a class index (0 to ", classes - 1, ")");
      right.push_back(c.get<index_t>());
    }
    std::sort(right.begin(), right.end());
    right.erase(std::unique(right.begin(), right.end()), right.end());
    char name[48];
    std::snprintf(name, sizeof name, "ILSVRC2012_val_%08zu.JPEG", i + 1);
    classes_of[name] = std::move(right);
  }
  ImageClasses truth =
      detail::classes_by_name(path, classes_of, names, "ReaL entry",
                              " (its entries are ImageNet's validation files, ILSVRC2012_val_00000001.JPEG ...)");
  INTERNVL_CHECK(std::any_of(truth.begin(), truth.end(), [](const auto& right) { return !right.empty(); }), path,
                 "none of the ", names.size(), " images has a ReaL label: there is nothing to score");
  return truth;
}

// The class of each image from the name of its folder: among `folders` (one per class), or else an ImageNet-1K
// class index, the class itself or (where `imagenet1k_classes` keep some) the kept class it is.
inline ImageClasses folder_truth(const std::vector<std::string>& names, const std::vector<std::string>& folders,
                                 const std::vector<index_t>& imagenet1k_classes, index_t classes) {
  std::map<std::string, index_t> class_of;
  for (std::size_t c = 0; c < folders.size(); ++c) {
    class_of.emplace(folders[c], static_cast<index_t>(c));
  }
  const index_t indices = imagenet1k_classes.empty() ? classes : index_t{1000};  // what a numeric folder may name
  ImageClasses truth;
  for (const std::string& name : names) {
    const std::filesystem::path parent = std::filesystem::path(name).parent_path();
    INTERNVL_CHECK(!parent.empty(), name, "--truth-folders: the image has no folder to take its class from");
    const std::string folder = parent.filename().string();
    if (const auto found = class_of.find(folder); found != class_of.end()) {
      truth.push_back({found->second});
      continue;
    }
    const std::optional<index_t> index = detail::class_index(folder, indices);
    INTERNVL_CHECK(index.has_value(), name, "--truth-folders: its folder '", folder, "' is ",
                   folders.empty() ? "not a class index (the labels file names no folders)"
                                   : "none of the labels file's folders, nor a class index",
                   " (0 to ", indices - 1, ")");
    if (imagenet1k_classes.empty()) {
      truth.push_back({*index});
      continue;
    }
    const auto kept = std::find(imagenet1k_classes.begin(), imagenet1k_classes.end(), *index);
    INTERNVL_CHECK(kept != imagenet1k_classes.end(), name, "--truth-folders: its folder names ImageNet-1K class ",
                   *index, ", which is not one of the labels file's imagenet1k_classes");
    truth.push_back({static_cast<index_t>(kept - imagenet1k_classes.begin())});
  }
  return truth;
}

// The accuracy of a run with --truth or --truth-folders (nothing without them): the true classes, read at
// construction (before the model loads), each image's scores ranked as they come, and the top-1 and top-5
// accuracy (top-5 where there are 5 classes or more) and the mean per-class recall printed after the
// images' lines.
class ClassTruth {
 public:
  // `folders` and `imagenet1k_classes`: the labels file's, for --truth-folders (or none).
  ClassTruth(const Cli& cli, const std::vector<std::string>& names, index_t classes,
             const std::vector<std::string>& folders, const std::vector<index_t>& imagenet1k_classes)
      : names_(names), classes_(classes) {
    if (cli.has("--truth") && cli.has("--truth-folders")) {
      cli.fail("give the true classes with --truth or with --truth-folders, not both");
    }
    if (cli.has("--truth") || cli.has("--truth-folders")) {
      check_given_once();
    }
    if (const auto file = cli.get("--truth")) {
      several_right_ = std::filesystem::path(*file).extension() == ".json";
      truth_ = several_right_ ? read_real_truth(*file, names, classes) : read_class_truth(*file, names, classes);
      source_ = *file;
    } else if (cli.has("--truth-folders")) {
      if (cli.has("--pixels")) {
        cli.fail("--truth-folders needs image files (the images of --pixels have no folder)");
      }
      truth_ = folder_truth(names, folders, imagenet1k_classes, classes);
      source_ = "the images' folders";
    }
  }

  // The scores [K] of image i (in the order of `names`).
  void add(CView<float, 1> scores, index_t i) {
    const std::size_t image = static_cast<std::size_t>(i);
    if (source_ && !truth_[image].empty()) {
      accuracy_.add_any(scores, truth_[image], names_[image]);
    }
  }

  void print() const {
    if (!source_) {
      return;
    }
    const auto images = static_cast<long long>(names_.size()), counted = static_cast<long long>(accuracy_.count());
    std::printf("# accuracy against %s (%lld images", source_->c_str(), counted);
    if (counted != images) {
      std::printf(" of %lld: the others have no true class", images);
    }
    std::printf(", in percent)\n");
    for (const index_t k : {index_t{1}, index_t{5}}) {
      if (k <= classes_) {
        std::printf("top-%lld\t%.2f\t(%lld right)\n", static_cast<long long>(k), 100 * accuracy_.at(k),
                    static_cast<long long>(accuracy_.right_at(k)));
      }
    }
    if (!several_right_) {
      std::printf("mean per-class recall\t%.2f\n", 100 * accuracy_.mean_per_class_recall());
    }
  }

 private:
  // An image given twice would count twice.
  void check_given_once() const {
    std::map<std::string, std::size_t> first;  // image -> its position among the images, from 1
    for (std::size_t i = 0; i < names_.size(); ++i) {
      const auto [at, fresh] = first.emplace(names_[i], i + 1);
      INTERNVL_CHECK(fresh, names_[i], "is given twice (images ", at->second, " and ", i + 1,
                     "): it would count twice in the accuracy");
    }
  }

  std::optional<std::string> source_;  // what the truth came from; nothing without --truth / --truth-folders
  const std::vector<std::string>& names_;
  index_t classes_;
  bool several_right_ = false;  // ImageNet-ReaL: several right classes per image (no mean per-class recall)
  ImageClasses truth_;
  heads::TopKAccuracy accuracy_;
};

}  // namespace internvl::examples
