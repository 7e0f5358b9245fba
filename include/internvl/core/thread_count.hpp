// default_thread_count: the size of the shared thread pool, unless the user sets it.
//   INTERNVL_NUM_THREADS if set (a positive integer), else max(1, min(cores, quota)) where
//   cores  = the physical cores among the CPUs in this process's affinity mask: SMT siblings share a
//            core's FMA units and its L1 and L2, which the GEMM's blocks are sized to have to themselves
//            (the number of CPUs where Linux's topology files cannot be read);
//   quota  = the CPU time per period that the process's cgroup and every cgroup above it allow, rounded
//            down (cgroup v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us; none if unlimited): a
//            container limited to 4 CPUs on a 64-core host gets 4 threads, not 64 that the kernel
//            throttles for most of every period.
// physical_cores and cgroup_cpu_quota take the roots of the files they read, so tests can give them a
// tree of their own.
#pragma once

#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "internvl/core/cgroup.hpp"
#include "internvl/core/error.hpp"

namespace internvl {

// Distinct cores among `cpus`: CPUs that list the same SMT siblings (<sysfs_cpu>/cpuN/topology/
// thread_siblings_list) share one. 0 where a CPU's list cannot be read.
inline int physical_cores(const cpu_set_t& cpus, const std::filesystem::path& sysfs_cpu = "/sys/devices/system/cpu") {
  std::set<std::string> cores;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &cpus)) {
      continue;
    }
    std::ifstream file(sysfs_cpu / ("cpu" + std::to_string(cpu)) / "topology" / "thread_siblings_list");
    std::string siblings;
    if (!std::getline(file, siblings) || siblings.empty()) {
      return 0;
    }
    cores.insert(siblings);
  }
  return static_cast<int>(cores.size());
}

namespace detail {

// CPUs' worth of time per period in a cgroup directory's limit file, or nothing if it is missing or
// unlimited: v2's cpu.max ("max 100000" or "QUOTA PERIOD"), v1's cpu.cfs_quota_us (-1: unlimited) over
// cpu.cfs_period_us.
inline std::optional<double> cgroup_cpu_limit(const std::filesystem::path& dir, bool v2) {
  std::string quota;
  long long period = 0;
  if (v2) {
    std::ifstream(dir / "cpu.max") >> quota >> period;
  } else {
    std::ifstream(dir / "cpu.cfs_quota_us") >> quota;
    std::ifstream(dir / "cpu.cfs_period_us") >> period;
  }
  char* end = nullptr;
  const long long q = std::strtoll(quota.c_str(), &end, 10);
  if (quota.empty() || *end != '\0' || q <= 0 || period <= 0) {
    return std::nullopt;
  }
  return static_cast<double>(q) / static_cast<double>(period);
}

}  // namespace detail

// The smallest CPU limit of the cgroups this process is in and their ancestors (cgroup.hpp), rounded
// down and at least 1, or nothing where none is set.
inline std::optional<int> cgroup_cpu_quota(const std::filesystem::path& proc_cgroup = "/proc/self/cgroup",
                                           const std::filesystem::path& cgroup_root = "/sys/fs/cgroup") {
  const std::optional<double> smallest =
      smallest_cgroup_limit("cpu", detail::cgroup_cpu_limit, proc_cgroup, cgroup_root);
  if (!smallest) {
    return std::nullopt;
  }
  return std::max(1, static_cast<int>(*smallest));
}

inline int default_thread_count() {
  if (const char* env = std::getenv("INTERNVL_NUM_THREADS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    INTERNVL_CHECK(end != env && *end == '\0' && n >= 1 && n <= 4096, "INTERNVL_NUM_THREADS",
                   "expected a positive integer, got '", env, "'");
    return static_cast<int>(n);
  }
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  cpu_set_t cpus;
  if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0) {
    const int cores = physical_cores(cpus);
    threads = cores > 0 ? cores : CPU_COUNT(&cpus);
  }
  if (const std::optional<int> quota = cgroup_cpu_quota()) {
    threads = std::min(threads, *quota);
  }
  return std::max(threads, 1);
}

}  // namespace internvl
