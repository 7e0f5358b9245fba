// The scratch arena: alignment, scoping, growth, and no allocation once it has seen its peak.
#include <catch2/catch.hpp>

#include "internvl/core/memory.hpp"
#include "internvl/core/workspace.hpp"

using namespace internvl;

namespace {
// A pretend forward pass: nested scratch tensors of several sizes.
void fake_forward(Workspace<>& ws) {
  auto outer = ws.scope();
  View<float, 2> h = ws.tensor<float>(Extents<2>{257, 3200});
  for (int block = 0; block < 4; ++block) {
    auto inner = ws.scope();
    View<float, 2> qkv = ws.tensor<float>(Extents<2>{257, 9600});
    View<float, 2> mlp = ws.tensor<float>(Extents<2>{257, 12800});
    qkv(256, 9599) = 1.0f;  // touch the last element of each
    mlp(256, 12799) = 2.0f;
  }
  h(0, 0) = 3.0f;
}
}  // namespace

TEST_CASE("allocations are 64-byte aligned and do not overlap", "[workspace]") {
  Workspace<> ws;
  auto scope = ws.scope();
  std::uintptr_t previous_end = 0;
  for (std::size_t n : {1u, 3u, 17u, 64u, 1000u}) {
    float* p = ws.allocate<float>(n);
    const auto addr = reinterpret_cast<std::uintptr_t>(p);
    REQUIRE(addr % 64 == 0);
    if (previous_end != 0 && addr > previous_end - 64 * 1024) {
      REQUIRE(addr >= previous_end);
    }
    previous_end = addr + n * sizeof(float);
  }
}

TEST_CASE("a scope releases what was taken inside it", "[workspace]") {
  Workspace<> ws(1 << 20);
  auto outer = ws.scope();
  float* a = ws.allocate<float>(100);
  {
    auto inner = ws.scope();
    ws.allocate<float>(1000);
  }
  float* b = ws.allocate<float>(100);
  REQUIRE(b == a + 112);  // 100 floats = 400 bytes, rounded up to 7 cache lines = 112 floats
}

TEST_CASE("after the first pass the arena never allocates again", "[workspace]") {
  Workspace<> ws(4096);  // deliberately too small: the first pass must grow
  fake_forward(ws);
  const std::size_t after_first = ws.allocation_count();
  REQUIRE(after_first > 1);
  REQUIRE(ws.capacity() >= ws.peak_bytes());
  for (int pass = 0; pass < 5; ++pass) {
    fake_forward(ws);
  }
  REQUIRE(ws.allocation_count() == after_first);
  REQUIRE(ws.live_bytes() == 0);
}

TEST_CASE("host scratch beyond what the process can ever have is an error, before anything is allocated",
          "[workspace]") {
  Workspace<> ws;
  const std::size_t limit = memory_limit_bytes();
  REQUIRE(limit > 0);
  auto scope = ws.scope();
  REQUIRE(ws.allocate<float>(1024) != nullptr);
  // What the process holds counts: the limit less 2 KiB does not fit on top of its heap and stacks.
  REQUIRE(current_anonymous_rss_bytes() > 2048);
  REQUIRE_THROWS_WITH(ws.allocate<std::byte>(limit - 2048),
                      Catch::Contains("Workspace") && Catch::Contains("GB this process holds would exceed the") &&
                          Catch::Contains("use a smaller batch"));
  REQUIRE(ws.allocation_count() == 1);
  REQUIRE(ws.allocate<float>(16) != nullptr);  // the arena is still usable
}

namespace {
// Host memory that refuses any one allocation above `largest` bytes, as a system refuses address space
// it cannot back.
struct RefusingAllocator {
  static inline std::size_t largest = 0;
  static void* allocate(std::size_t bytes) {
    if (bytes > largest) {
      throw std::bad_alloc();
    }
    return HostAllocator::allocate(bytes);
  }
  static void deallocate(void* p) noexcept { HostAllocator::deallocate(p); }
};
}  // namespace

TEST_CASE("growth falls back to the exact request, and a refused fold leaves an empty arena", "[workspace]") {
  RefusingAllocator::largest = 3000;
  Workspace<RefusingAllocator> ws;
  {
    auto scope = ws.scope();
    ws.allocate<std::byte>(1024);
    ws.allocate<std::byte>(1600);  // a second block, twice the first: 2048 bytes
    ws.allocate<std::byte>(2880);  // a third: twice the second (4096) is refused, exactly 2880 is given
    REQUIRE(ws.capacity() == 1024 + 2048 + 2880);
    REQUIRE(ws.allocation_count() == 3);
  }  // the fold asks for the peak, 1024 + 2048 + 2880 bytes, in one block: refused, and no exception escapes
  REQUIRE(ws.capacity() == 0);
  REQUIRE(ws.live_bytes() == 0);
  REQUIRE(ws.allocate<std::byte>(512) != nullptr);  // it grows again when asked
  REQUIRE(ws.capacity() == 512);
}
