// Resident memory of this process, for the examples and benchmarks that report it, and the machine's.
//   peak_rss_bytes():    the high-water mark of the resident set (VmHWM, getrusage's ru_maxrss)
//   current_rss_bytes(): the resident set now (VmRSS), and its two parts: anonymous memory (heap, scratch,
//                        f32 tables: RssAnon) and pages of mapped files (RssFile)
//   physical_memory_bytes(): the machine's memory
//   cgroup_memory_limit(): the smallest memory limit of this process's cgroups and their ancestors
//                          (v2 memory.max, v1 memory.limit_in_bytes), nothing where none is set
//   memory_limit_bytes():  what this process can ever have resident: the smaller of the two (a request
//                          larger than it gets the process killed by the kernel's OOM killer)
//   check_memory_for(bytes, where, what, advice): an Error unless `bytes` more, on top of the anonymous
//                          memory this process holds, stay within memory_limit_bytes()
// Resident pages include pages of memory-mapped files that have been touched (a checkpoint read
// through io::SafetensorsFile counts once its weights are used). Linux only; other systems: 0.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include "internvl/core/cgroup.hpp"
#include "internvl/core/error.hpp"

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

// The largest resident-set reading seen so far by either function below: a peak reported after a
// current reading is never smaller than it, even though the kernel updates VmHWM lazily.
inline std::size_t record_rss_reading(std::size_t bytes) {
  static std::atomic<std::size_t> highest{0};
  std::size_t seen = highest.load(std::memory_order_relaxed);
  while (seen < bytes && !highest.compare_exchange_weak(seen, bytes, std::memory_order_relaxed)) {
  }
  return std::max(seen, bytes);
}

// The bytes a cgroup directory's memory limit file allows, or nothing if it is missing or unlimited:
// v2's memory.max ("max" or bytes), v1's memory.limit_in_bytes (no limit reads as the largest
// page-aligned 63-bit value, 9223372036854771712 with 4 KiB pages).
inline std::optional<double> cgroup_memory_limit_in(const std::filesystem::path& dir, bool v2) {
  std::string bytes;
  std::ifstream(dir / (v2 ? "memory.max" : "memory.limit_in_bytes")) >> bytes;
  char* end = nullptr;
  const unsigned long long limit = std::strtoull(bytes.c_str(), &end, 10);
  constexpr unsigned long long kUnlimitedV1 = 1ULL << 62;  // no machine has 4 EiB: far below v1's "no limit"
  if (bytes.empty() || bytes[0] == '-' || *end != '\0' || limit >= kUnlimitedV1) {
    return std::nullopt;
  }
  return static_cast<double>(limit);
}

}  // namespace detail

// The memory this process has resident now, in bytes.
inline std::size_t current_rss_bytes() {
  const std::size_t now = detail::proc_status_kib_field("VmRSS");
  detail::record_rss_reading(now);
  return now;
}

// The anonymous part of the resident set now (heap and scratch memory, not file pages), in bytes.
inline std::size_t current_anonymous_rss_bytes() { return detail::proc_status_kib_field("RssAnon"); }

// The file-backed part of the resident set now (pages of memory-mapped files, e.g. checkpoint weights
// that have been read and not yet reclaimed), in bytes.
inline std::size_t current_file_rss_bytes() { return detail::proc_status_kib_field("RssFile"); }

// The most memory this process has had resident at once, in bytes: the largest of VmHWM, getrusage's
// ru_maxrss and every reading either function returned before (the kernel's high-water mark can trail
// VmRSS by a few hundred KB), so it never decreases and is never below an earlier current reading.
inline std::size_t peak_rss_bytes() {
  rusage usage{};
  const std::size_t maxrss = getrusage(RUSAGE_SELF, &usage) == 0 ? static_cast<std::size_t>(usage.ru_maxrss) * 1024 : 0;
  return detail::record_rss_reading(std::max({detail::proc_status_kib_field("VmHWM"), maxrss, current_rss_bytes()}));
}

// This machine's physical memory, in bytes; 0 where the system does not say.
inline std::size_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page_size > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size) : 0;
}

// The smallest memory limit, in bytes, of the cgroups this process is in and their ancestors
// (cgroup.hpp), or nothing where none is set: a container's limit, or a systemd unit's MemoryMax.
inline std::optional<std::size_t> cgroup_memory_limit(const std::filesystem::path& proc_cgroup = "/proc/self/cgroup",
                                                      const std::filesystem::path& cgroup_root = "/sys/fs/cgroup") {
  const std::optional<double> smallest =
      smallest_cgroup_limit("memory", detail::cgroup_memory_limit_in, proc_cgroup, cgroup_root);
  if (!smallest) {
    return std::nullopt;
  }
  return static_cast<std::size_t>(*smallest);
}

// The most memory this process can have resident, in bytes: the machine's, or its cgroup's limit where
// that is smaller; 0 where neither is known.
inline std::size_t memory_limit_bytes(const std::filesystem::path& proc_cgroup = "/proc/self/cgroup",
                                      const std::filesystem::path& cgroup_root = "/sys/fs/cgroup") {
  const std::size_t machine = physical_memory_bytes();
  const std::optional<std::size_t> cgroup = cgroup_memory_limit(proc_cgroup, cgroup_root);
  if (!cgroup) {
    return machine;
  }
  return machine == 0 ? *cgroup : std::min(machine, *cgroup);
}

// Before allocating `bytes` that will be written (so become resident): an Error at `where` naming `what`
// and `advice` unless they fit, on top of the process's anonymous resident memory (heap and scratch; not
// the pages of memory-mapped weights, which the kernel can drop), in memory_limit_bytes(). A bound that
// nothing can beat, not a forecast: nearer the limit, other processes and the weights' pages can still
// leave the kernel no choice but its OOM killer.
inline void check_memory_for(std::size_t bytes, std::string_view where, std::string_view what,
                             std::string_view advice) {
  const std::size_t limit = memory_limit_bytes();
  const std::size_t held = current_anonymous_rss_bytes();
  INTERNVL_CHECK(limit == 0 || (bytes <= limit && held <= limit - bytes), where, what, " of ",
                 static_cast<double>(bytes) / 1e9, " GB on top of the ", static_cast<double>(held) / 1e9,
                 " GB this process holds would exceed the ", static_cast<double>(limit) / 1e9,
                 " GB it can have (the machine's memory or its cgroup's limit): ", advice);
}

}  // namespace internvl
