// Resident-set readings: touching fresh memory raises the current and the peak resident set by at
// least that much, and the peak never falls below an earlier current reading or back after a release.
// The memory limit: cgroup v1 and v2 limit files, read from a tree the test writes, under the machine's.
// check_memory_for: what cannot fit beside what the process holds is an Error naming it.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "internvl/core/memory.hpp"
#include "scratch_dir.hpp"

using namespace internvl;
namespace fs = std::filesystem;

TEST_CASE("peak and current RSS follow memory the process touches", "[memory]") {
  const std::size_t current_before = current_rss_bytes();
  const std::size_t peak_before = peak_rss_bytes();
  REQUIRE(current_before > 0);
  REQUIRE(peak_before >= current_before);

  constexpr std::size_t kBytes = std::size_t{96} << 20;
  auto* block = static_cast<char*>(std::malloc(kBytes));
  REQUIRE(block != nullptr);
  std::memset(block, 1, kBytes);  // resident only once touched
  const std::size_t current_touched = current_rss_bytes();
  const std::size_t peak_touched = peak_rss_bytes();
  CHECK(current_touched >= current_before + kBytes * 9 / 10);
  CHECK(peak_touched >= current_touched);
  CHECK(peak_touched >= current_before + kBytes * 9 / 10);
  volatile char sink = block[kBytes / 2];
  (void)sink;
  std::free(block);

  CHECK(peak_rss_bytes() >= peak_touched);  // a high-water mark does not come down
}

TEST_CASE("the cgroup memory limit is the smallest on the way up; the process's limit is at most the machine's",
          "[memory]") {
  const testing::ScratchDir root("memory");
  const fs::path proc = root.path / "cgroup";
  const fs::path cgroup = root.path / "fs";
  const std::size_t machine = physical_memory_bytes();
  REQUIRE(machine > 0);
  constexpr std::size_t kGiB = std::size_t{1} << 30;

  SECTION("cgroup v2: memory.max in the process's cgroup and its ancestors") {
    testing::write_line(proc, "0::/system.slice/job.service");
    testing::write_line(cgroup / "system.slice" / "job.service" / "memory.max", "max");
    REQUIRE_FALSE(cgroup_memory_limit(proc, cgroup).has_value());
    REQUIRE(memory_limit_bytes(proc, cgroup) == machine);
    testing::write_line(cgroup / "system.slice" / "memory.max", std::to_string(3 * kGiB));
    REQUIRE(cgroup_memory_limit(proc, cgroup) == 3 * kGiB);
    testing::write_line(cgroup / "system.slice" / "job.service" / "memory.max", std::to_string(kGiB));
    REQUIRE(cgroup_memory_limit(proc, cgroup) == kGiB);
    REQUIRE(memory_limit_bytes(proc, cgroup) == std::min(machine, kGiB));
    // A limit above the machine's memory does not raise what the process can have.
    testing::write_line(cgroup / "system.slice" / "memory.max", std::to_string(machine * 4));
    testing::write_line(cgroup / "system.slice" / "job.service" / "memory.max", "max");
    REQUIRE(memory_limit_bytes(proc, cgroup) == machine);
  }
  SECTION("cgroup v1: the memory controller's limit_in_bytes; its largest value means none") {
    testing::write_line(proc, "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/");
    testing::write_line(cgroup / "memory" / "memory.limit_in_bytes", "9223372036854771712");
    testing::write_line(cgroup / "memory" / "docker" / "abc" / "memory.limit_in_bytes", "9223372036854771712");
    REQUIRE_FALSE(cgroup_memory_limit(proc, cgroup).has_value());
    testing::write_line(cgroup / "memory" / "docker" / "memory.limit_in_bytes", std::to_string(2 * kGiB));
    REQUIRE(cgroup_memory_limit(proc, cgroup) == 2 * kGiB);
    testing::write_line(cgroup / "cpu" / "docker" / "abc" / "memory.limit_in_bytes", "4096");  // not memory's
    REQUIRE(cgroup_memory_limit(proc, cgroup) == 2 * kGiB);
  }
  SECTION("unreadable or missing files: no limit") {
    testing::write_line(proc, "0::/");
    testing::write_line(cgroup / "memory.max", "-1");
    REQUIRE_FALSE(cgroup_memory_limit(proc, cgroup).has_value());
    REQUIRE_FALSE(cgroup_memory_limit(root.path / "missing", cgroup).has_value());
  }
  // This process's own reading: never more than the machine's memory.
  const std::size_t limit = memory_limit_bytes();
  CHECK(limit > 0);
  CHECK(limit <= machine);
}

TEST_CASE("check_memory_for refuses what cannot fit beside what the process holds, and names it", "[memory]") {
  const std::size_t limit = memory_limit_bytes();
  REQUIRE(limit > 0);
  REQUIRE_NOTHROW(check_memory_for(std::size_t{1} << 20, "here", "a buffer", "ask for less"));
  // The limit itself cannot fit: the process already holds its heap and stacks.
  REQUIRE_THROWS_WITH(check_memory_for(limit, "here", "a buffer", "ask for less"),
                      Catch::StartsWith("internvl: here: a buffer of ") &&
                          Catch::Contains("GB this process holds would exceed") && Catch::EndsWith("ask for less"));
  // Near the largest size_t the sum with what is held would wrap around: still refused.
  REQUIRE_THROWS_WITH(check_memory_for(SIZE_MAX - 4096, "here", "a buffer", "ask for less"),
                      Catch::Contains("a buffer of "));
}
