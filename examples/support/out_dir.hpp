// Files named after the input images (the tools' --out-dir DIR, segment's --truth-dir DIR): DIR/<stem>
// for each image, its file name without the extension, to which each file adds its own ending (".png",
// ".npy"). Two images with one stem would share their files: a usage error naming both. An output
// directory is created, with its parents, where it does not exist yet (as mkdir -p).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "internvl/core/error.hpp"
#include "support/cli.hpp"

namespace internvl::examples {

// `option`, `use` and `ending` word the error: "--out-dir: a/x.png and b/x.jpg would both be written as
// DIR/x.npy".
inline std::vector<std::filesystem::path> stem_paths(const Cli& cli, const std::string& option, const std::string& use,
                                                     const std::vector<std::string>& images, const std::string& dir,
                                                     const std::string& ending) {
  if (dir.empty()) {
    cli.fail(option + " names no directory (an empty path)");
  }
  std::map<std::string, std::string> image_of_stem;
  std::vector<std::filesystem::path> paths;
  for (const std::string& image : images) {
    const std::filesystem::path path = std::filesystem::path(dir) / std::filesystem::path(image).stem();
    if (const auto [at, fresh] = image_of_stem.emplace(path.string(), image); !fresh) {
      cli.fail(option + ": " + at->second + " and " + image + " would both be " + use + " " + path.string() + ending);
    }
    paths.push_back(path);
  }
  return paths;
}

// Creates the output directory `dir` of `option` and its parents where they do not exist yet; a path
// that exists but is not a directory, or one that cannot be made, is an error naming it.
inline void make_output_dir(const std::string& option, const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  INTERNVL_CHECK(std::filesystem::is_directory(dir), option + " " + dir, "cannot create the directory (",
                 error ? error.message() : "something else of that name exists", ")");
}

}  // namespace internvl::examples
