// Resident-set readings: touching fresh memory raises the current and the peak resident set by at
// least that much, and the peak never falls below an earlier current reading or back after a release.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>

#include "internvl/core/memory.hpp"

using namespace internvl;

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
