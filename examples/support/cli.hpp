// The command line of the example programs and their exit statuses:
//   Cli                  --flag VALUE options, boolean --switches, a usage text; a usage error prints
//                        "error: <message>" and the usage to stderr and exits with status 2. An option
//                        read as one value (get, require) given twice is a usage error, as is a value
//                        that is itself an option (`--out --projector`: --out's value forgotten)
//   run_reporting_errors(body)
//                        body()'s exit status (0 when it returns nothing); an exception (a bad file, shape
//                        or config, no GPU, no memory for what a file asks) becomes "error: <message>" on
//                        stderr and exit status 1, without the usage
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
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
        const std::string value = argv[++i];
        if (valued.count(value) != 0 || switches.count(value) != 0 || value == "-h" || value == "--help") {
          fail("option " + arg + " needs a value, got the option " + value);
        }
        values_[arg].push_back(value);
      } else {
        fail("unknown argument '" + arg + "'");
      }
    }
  }

  bool has(const std::string& name) const { return values_.count(name) != 0 || switches_.count(name) != 0; }
  // The value of an option given at most once.
  std::optional<std::string> get(const std::string& name) const {
    const auto it = values_.find(name);
    if (it == values_.end()) {
      return std::nullopt;
    }
    if (it->second.size() > 1) {
      fail("option " + name + " was given " + std::to_string(it->second.size()) + " times");
    }
    return it->second.front();
  }
  // Every value of a repeatable option, in order.
  std::vector<std::string> all(const std::string& name) const {
    const auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
  }
  // Every option with a value, with each of its values: (option, value).
  std::vector<std::pair<std::string, std::string>> values() const {
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const auto& [name, list] : values_) {
      for (const std::string& value : list) {
        pairs.emplace_back(name, value);
      }
    }
    return pairs;
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
  // A finite real number (--length-penalty).
  double real(const std::string& name, double fallback) const {
    const auto v = get(name);
    if (!v) {
      return fallback;
    }
    char* end = nullptr;
    const double x = std::strtod(v->c_str(), &end);
    if (end == v->c_str() || *end != '\0' || !std::isfinite(x)) {
      fail("option " + name + " expects a finite number, got '" + *v + "'");
    }
    return x;
  }
  // An integer option of at least 1 (a count: --topk, --batch).
  int positive(const std::string& name, int fallback) const {
    const int n = integer(name, fallback);
    if (n < 1) {
      fail(name + " must be at least 1, got " + std::to_string(n));
    }
    return n;
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

template <class Body>
int run_reporting_errors(Body&& body) {
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<Body&>>) {
      body();
      return 0;
    } else {
      return body();
    }
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory (an input asks for more than this machine has)\n");
  } catch (const std::exception& e) {  // internvl::Error for bad input; anything else too
    std::fprintf(stderr, "error: %s\n", e.what());
  }
  return 1;
}

}  // namespace internvl::examples
