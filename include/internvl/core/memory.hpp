// Resident memory of this process, for the examples and benchmarks that report it.
//   peak_rss_bytes():    the high-water mark of the resident set (VmHWM, getrusage's ru_maxrss)
//   current_rss_bytes(): the resident set now (VmRSS)
// Resident pages include pages of memory-mapped files that have been touched (a checkpoint read
// through io::SafetensorsFile counts once its weights are used). Linux only; other systems: 0.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstring>

namespace internvl {

namespace detail {

// The value of a "Key:   1234 kB" line of /proc/self/status, in bytes; 0 when absent.
inline std::size_t proc_status_kib_field(const char* key) {
  std::FILE* status = std::fopen("/proc/self/status", "r");
  if (status == nullptr) {
    return 0;
  }
  const std::size_t key_length = std::strlen(key);
  char line[256];
  unsigned long long kib = 0;
  while (std::fgets(line, sizeof(line), status) != nullptr) {
    if (std::strncmp(line, key, key_length) == 0 && line[key_length] == ':') {
      std::sscanf(line + key_length + 1, "%llu", &kib);
      break;
    }
  }
  std::fclose(status);
  return static_cast<std::size_t>(kib) * 1024;
}

}  // namespace detail

// The memory this process has resident now, in bytes.
inline std::size_t current_rss_bytes() { return detail::proc_status_kib_field("VmRSS"); }

// The most memory this process has had resident at once, in bytes. The kernel updates its
// high-water mark lazily (VmHWM can trail VmRSS by a few hundred KB), so this is the largest of VmHWM,
// getrusage's ru_maxrss, VmRSS and every value it returned before: it never decreases.
inline std::size_t peak_rss_bytes() {
  static std::atomic<std::size_t> highest{0};
  rusage usage{};
  const std::size_t maxrss = getrusage(RUSAGE_SELF, &usage) == 0 ? static_cast<std::size_t>(usage.ru_maxrss) * 1024 : 0;
  const std::size_t now = std::max({detail::proc_status_kib_field("VmHWM"), maxrss, current_rss_bytes()});
  std::size_t seen = highest.load(std::memory_order_relaxed);
  while (seen < now && !highest.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
  }
  return std::max(seen, now);
}

}  // namespace internvl
