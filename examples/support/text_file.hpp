// read_lines: the lines of a small text file given on the command line (class labels, prompt templates),
// without their line endings ("\n" or "\r\n"). A missing, unreadable or directory path is an
// internvl::Error naming the file and what it was meant to be.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "internvl/core/error.hpp"

namespace internvl::examples {

inline std::vector<std::string> read_lines(const std::string& path, const std::string& what) {
  std::error_code ec;
  INTERNVL_CHECK(!std::filesystem::is_directory(path, ec), path, "is a directory, not the ", what);
  std::ifstream in(path);
  INTERNVL_CHECK(in.good(), path, "cannot read the ", what);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    lines.push_back(line);
  }
  INTERNVL_CHECK(!in.bad(), path, "reading the ", what, " failed");
  return lines;
}

}  // namespace internvl::examples
