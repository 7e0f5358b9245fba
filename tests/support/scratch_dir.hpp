// Test helpers for code that reads files from a tree: a directory of its own under the system's
// temporary one, removed with everything in it, and a one-line file written with its parents.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace internvl::testing {

struct ScratchDir {
  std::filesystem::path path;
  explicit ScratchDir(const std::string& name)
      : path(std::filesystem::temp_directory_path() / ("internvl_test_" + name + "_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() { std::filesystem::remove_all(path); }
};

inline void write_line(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file) << text << "\n";
}

}  // namespace internvl::testing
