// Limits a process's control groups set, from the files Linux exposes for them:
//   smallest_cgroup_limit(controller, read_limit) = min over the process's cgroups c and every ancestor
//   a of c of read_limit(a, v2), or nothing where no directory on the way up has a limit.
// A limit set on a parent binds its children too, so the smallest one on the way up is the one that
// counts. /proc/self/cgroup lists the cgroups as "ID:controllers:/path": v2's unified line is "0::/path"
// under <cgroup_root>; a v1 controller (e.g. "cpu", "memory") has its own tree under
// <cgroup_root>/<controller>. A path that does not exist in this mount namespace (a container that sees
// only its own cgroup, as the root) is skipped on the way up, so the root's own limit still counts.
// Both paths are parameters so that tests can give the walk a tree of their own.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace internvl {

// read_limit(directory, v2) -> std::optional<double>: the limit a cgroup directory's file sets, if any.
template <class ReadLimit>
std::optional<double> smallest_cgroup_limit(std::string_view controller, ReadLimit read_limit,
                                            const std::filesystem::path& proc_cgroup = "/proc/self/cgroup",
                                            const std::filesystem::path& cgroup_root = "/sys/fs/cgroup") {
  std::optional<double> smallest;
  std::ifstream lines(proc_cgroup);
  for (std::string line; std::getline(lines, line);) {
    const std::size_t first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) {
      continue;
    }
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const bool v2 = line.compare(0, first, "0") == 0 && controllers.empty();
    bool v1_controller = false;
    std::istringstream names(controllers);
    for (std::string name; std::getline(names, name, ',');) {
      v1_controller = v1_controller || name == controller;
    }
    if (!v2 && !v1_controller) {
      continue;
    }
    const std::filesystem::path top = v2 ? cgroup_root : cgroup_root / controller;
    const std::filesystem::path below = std::filesystem::path(line.substr(second + 1)).relative_path();
    for (std::filesystem::path dir = below.empty() ? top : top / below;; dir = dir.parent_path()) {
      if (const std::optional<double> limit = read_limit(dir, v2)) {
        smallest = std::min(smallest.value_or(*limit), *limit);
      }
      if (dir == top || dir == dir.parent_path()) {
        break;
      }
    }
  }
  return smallest;
}

}  // namespace internvl
