// The files a run will write, checked before the work, so that a mistake costs no forward pass and no
// input: each names a file that can be created (io::check_can_create), none is named twice (--out and
// --overlay one file, or --out-dir where two images' files meet), and none is a file the run reads: the
// value of any other option that names a file, or one of `inputs` (the images of --images, the masks of
// --truth-dir). Two names of one file are found by their canonical paths. A clash is a usage error that
// names both; a file that cannot be created is io::check_can_create's error.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "internvl/io/write_file.hpp"
#include "support/cli.hpp"

namespace internvl::examples {

struct OutputFile {
  std::string option;  // the option that names it ("--out", or "--out-dir" for a file named after an image)
  std::string path;
};

// The output files of `options` that were given.
inline std::vector<OutputFile> output_options(const Cli& cli, const std::vector<std::string>& options) {
  std::vector<OutputFile> files;
  for (const std::string& option : options) {
    if (const auto path = cli.get(option)) {
      files.push_back({option, *path});
    }
  }
  return files;
}

inline void check_outputs(const Cli& cli, const std::vector<OutputFile>& outputs,
                          const std::vector<std::string>& inputs = {}) {
  const auto identity = [](const std::string& path) {
    std::error_code error;
    const std::filesystem::path absolute = std::filesystem::absolute(path, error).lexically_normal();
    const std::filesystem::path canonical = std::filesystem::weakly_canonical(absolute, error);
    return error ? absolute.string() : canonical.string();
  };
  std::set<std::string> output_options;
  for (const OutputFile& o : outputs) {
    output_options.insert(o.option);
  }
  std::map<std::string, std::string> read;  // canonical path → how the command line names it
  for (const auto& [option, value] : cli.values()) {
    std::error_code error;
    if (output_options.count(option) == 0 && std::filesystem::is_regular_file(value, error)) {
      read.emplace(identity(value), option + " " + value);
    }
  }
  for (const std::string& input : inputs) {
    read.emplace(identity(input), "the input " + input);
  }
  std::map<std::string, std::string> written;
  for (const OutputFile& o : outputs) {
    if (o.path.empty()) {
      cli.fail(o.option + " names no file (an empty path)");
    }
    const std::string key = identity(o.path), name = o.option + " " + o.path;
    if (const auto it = read.find(key); it != read.end()) {
      cli.fail(name + " would overwrite " + it->second);
    }
    if (const auto [it, fresh] = written.emplace(key, name); !fresh) {
      cli.fail(it->second + " and " + name + " are the same file");
    }
    io::check_can_create(o.path);
  }
}

}  // namespace internvl::examples
