// The one error type of the library and the checks that raise it.
// Every message names what went wrong and where: "internvl: <where>: <what>".
//   INTERNVL_CHECK(cond, where, parts...)  throws internvl::Error when cond is false.
// Errors are for bad input (files, shapes, flags); programming errors inside kernels are asserts.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace internvl {

class Error : public std::runtime_error {
 public:
  Error(std::string_view where, std::string_view what)
      : std::runtime_error(compose(where, what)), where_(where), message_(what) {}

  // The place the error was raised: an op name, a file path, a config field.
  const std::string& where() const noexcept { return where_; }
  // What went wrong there (what() is "internvl: <where>: <message>").
  const std::string& message() const noexcept { return message_; }

 private:
  static std::string compose(std::string_view where, std::string_view what) {
    std::string s = "internvl: ";
    s.append(where).append(": ").append(what);
    return s;
  }
  std::string where_;
  std::string message_;
};

namespace detail {

// Streams any printable values into one string: concat("x has ", 3, " rows").
template <class... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

}  // namespace detail

template <class... Parts>
[[noreturn]] void fail(std::string_view where, Parts&&... parts) {
  throw Error(where, detail::concat(std::forward<Parts>(parts)...));
}

}  // namespace internvl

#define INTERNVL_CHECK(cond, where, ...)         \
  do {                                           \
    if (!(cond)) {                               \
      ::internvl::fail((where), __VA_ARGS__);    \
    }                                            \
  } while (false)
