// A small command-line parser shared by the example programs: --flag VALUE options, boolean
// --switches, a usage text, and errors that print the usage and exit non-zero.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace internvl::examples {

class Cli {
 public:
  // `valued`: options that take a value (repeatable ones are collected); `switches`: boolean flags.
  Cli(int argc, char** argv, std::string usage, std::set<std::string> valued, std::set<std::string> switches = {})
      : usage_(std::move(usage)) {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "-h" || arg == "--help") {
        std::printf("%s", usage_.c_str());
        std::exit(0);
      }
      if (switches.count(arg) != 0) {
        switches_.insert(arg);
      } else if (valued.count(arg) != 0) {
        if (i + 1 >= argc) {
          fail("option " + arg + " needs a value");
        }
        values_[arg].push_back(argv[++i]);
      } else {
        fail("unknown argument '" + arg + "'");
      }
    }
  }

  bool has(const std::string& name) const { return values_.count(name) != 0 || switches_.count(name) != 0; }
  std::optional<std::string> get(const std::string& name) const {
    const auto it = values_.find(name);
    return it == values_.end() ? std::nullopt : std::optional<std::string>(it->second.back());
  }
  std::vector<std::string> all(const std::string& name) const {
    const auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
  }
  std::string require(const std::string& name) const {
    if (auto v = get(name)) {
      return *v;
    }
    fail("missing required option " + name);
  }
  int integer(const std::string& name, int fallback) const {
    const auto v = get(name);
    if (!v) {
      return fallback;
    }
    char* end = nullptr;
    errno = 0;
    const long n = std::strtol(v->c_str(), &end, 10);
    if (end == v->c_str() || *end != '\0') {
      fail("option " + name + " expects an integer, got '" + *v + "'");
    }
    if (errno == ERANGE || n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()) {
      fail("option " + name + " is out of range: '" + *v + "'");
    }
    return static_cast<int>(n);
  }
  // Exactly one of the options must be given.
  std::string one_of(const std::string& a, const std::string& b) const {
    if (has(a) == has(b)) {
      fail("give exactly one of " + a + " and " + b);
    }
    return has(a) ? a : b;
  }

  [[noreturn]] void fail(const std::string& message) const {
    std::fprintf(stderr, "error: %s\n\n%s", message.c_str(), usage_.c_str());
    std::exit(2);
  }

 private:
  std::string usage_;
  std::map<std::string, std::vector<std::string>> values_;
  std::set<std::string> switches_;
};

}  // namespace internvl::examples
