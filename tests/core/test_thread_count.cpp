// The default thread count: physical cores from Linux's topology files, CPU quotas from cgroup v1 and v2
// files, each read from a tree the test writes, and INTERNVL_NUM_THREADS over both.
#include <sched.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <string>

#include "internvl/core/thread_count.hpp"
#include "scratch_dir.hpp"

using namespace internvl;
namespace fs = std::filesystem;

namespace {

using testing::ScratchDir;
using testing::write_line;

cpu_set_t cpu_set(std::initializer_list<int> cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int cpu : cpus) CPU_SET(cpu, &set);
  return set;
}

}  // namespace

TEST_CASE("physical cores count CPUs that share SMT siblings once", "[threads]") {
  const ScratchDir sysfs("thread_count");
  // Two cores of two threads each, numbered as Linux numbers them (siblings n and n + 2), and a fifth
  // CPU without a sibling.
  for (const auto& [cpu, siblings] : {std::pair{0, "0,2"}, {1, "1,3"}, {2, "0,2"}, {3, "1,3"}, {4, "4"}}) {
    write_line(sysfs.path / ("cpu" + std::to_string(cpu)) / "topology" / "thread_siblings_list", siblings);
  }
  REQUIRE(physical_cores(cpu_set({0, 1, 2, 3, 4}), sysfs.path) == 3);
  REQUIRE(physical_cores(cpu_set({0, 2}), sysfs.path) == 1);  // an affinity mask of one core's two threads
  REQUIRE(physical_cores(cpu_set({0, 1}), sysfs.path) == 2);
  REQUIRE(physical_cores(cpu_set({0, 7}), sysfs.path) == 0);  // no topology for CPU 7: unknown
}

TEST_CASE("the cgroup CPU quota is the smallest on the way up, rounded down", "[threads]") {
  const ScratchDir root("thread_count");
  const fs::path proc = root.path / "cgroup";
  const fs::path cgroup = root.path / "fs";

  SECTION("cgroup v2: cpu.max in the process's cgroup and its ancestors") {
    write_line(proc, "0::/user.slice/job");
    write_line(cgroup / "cpu.max", "max 100000");
    REQUIRE_FALSE(cgroup_cpu_quota(proc, cgroup).has_value());
    write_line(cgroup / "user.slice" / "job" / "cpu.max", "250000 100000");
    REQUIRE(cgroup_cpu_quota(proc, cgroup) == 2);
    write_line(cgroup / "user.slice" / "cpu.max", "150000 100000");
    REQUIRE(cgroup_cpu_quota(proc, cgroup) == 1);
    write_line(cgroup / "user.slice" / "cpu.max", "50000 100000");
    REQUIRE(cgroup_cpu_quota(proc, cgroup) == 1);  // half a CPU still runs one thread
  }
  SECTION("cgroup v2 in a container: the path is not visible, the root's limit counts") {
    write_line(proc, "0::/kubepods/pod1/abc");
    write_line(cgroup / "cpu.max", "400000 100000");
    REQUIRE(cgroup_cpu_quota(proc, cgroup) == 4);
  }
  SECTION("cgroup v1: the cpu controller's quota and period, -1 for none") {
    write_line(proc, "5:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/");
    write_line(cgroup / "cpu" / "docker" / "abc" / "cpu.cfs_quota_us", "-1");
    write_line(cgroup / "cpu" / "docker" / "abc" / "cpu.cfs_period_us", "100000");
    REQUIRE_FALSE(cgroup_cpu_quota(proc, cgroup).has_value());
    write_line(cgroup / "cpu" / "docker" / "abc" / "cpu.cfs_quota_us", "300000");
    REQUIRE(cgroup_cpu_quota(proc, cgroup) == 3);
    write_line(cgroup / "memory" / "docker" / "abc" / "cpu.cfs_quota_us", "100000");  // not the cpu controller's
    REQUIRE(cgroup_cpu_quota(proc, cgroup) == 3);
  }
  SECTION("no cgroup files at all: no limit") {
    REQUIRE_FALSE(cgroup_cpu_quota(root.path / "missing", cgroup).has_value());
  }
}

TEST_CASE("INTERNVL_NUM_THREADS sets the default size and bad values are errors", "[threads]") {
  ::setenv("INTERNVL_NUM_THREADS", "3", 1);
  REQUIRE(default_thread_count() == 3);
  ::setenv("INTERNVL_NUM_THREADS", "two", 1);
  REQUIRE_THROWS_WITH(default_thread_count(), Catch::Contains("INTERNVL_NUM_THREADS") && Catch::Contains("'two'"));
  ::setenv("INTERNVL_NUM_THREADS", "0", 1);
  REQUIRE_THROWS(default_thread_count());
  ::unsetenv("INTERNVL_NUM_THREADS");
  cpu_set_t cpus;
  REQUIRE(::sched_getaffinity(0, sizeof(cpus), &cpus) == 0);
  REQUIRE(default_thread_count() >= 1);
  REQUIRE(default_thread_count() <= CPU_COUNT(&cpus));
}
