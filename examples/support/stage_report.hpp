// StageReport: the --report output of the InternVL examples, on stderr. Each stage prints its wall
// time since the previous one, the peak resident memory so far and the resident set now, split into
// anonymous memory (activations, scratch, f32 tables) and mapped file pages (checkpoint weights read
// through the mapping, which the kernel may reclaim):
//   load: 1.45 s, peak RSS 0.08 GiB (now: anonymous 0.03 GiB, mapped files 0.04 GiB)
// Disabled, it prints nothing.
#pragma once

#include <chrono>
#include <cstdarg>
#include <cstdio>

#include "internvl/core/memory.hpp"

namespace internvl::examples {

class StageReport {
 public:
  explicit StageReport(bool enabled) : enabled_(enabled) {}

  bool enabled() const { return enabled_; }

  // Ends the current stage under `name`.
  void stage(const char* name) {
    const auto now = std::chrono::steady_clock::now();
    if (enabled_) {
      constexpr double kGiB = 1u << 30;
      std::fprintf(stderr, "%s: %.2f s, peak RSS %.2f GiB (now: anonymous %.2f GiB, mapped files %.2f GiB)\n", name,
                   std::chrono::duration<double>(now - last_).count(), static_cast<double>(peak_rss_bytes()) / kGiB,
                   static_cast<double>(current_anonymous_rss_bytes()) / kGiB,
                   static_cast<double>(current_file_rss_bytes()) / kGiB);
    }
    last_ = now;
  }

  // A line of its own (printf-style), when enabled.
  __attribute__((format(printf, 2, 3))) void note(const char* format, ...) const {
    if (enabled_) {
      va_list args;
      va_start(args, format);
      std::vfprintf(stderr, format, args);
      va_end(args);
      std::fputc('\n', stderr);
    }
  }

 private:
  bool enabled_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace internvl::examples
