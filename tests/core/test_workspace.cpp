// The scratch arena: alignment, scoping, growth, and no allocation once it has seen its peak.
#include <catch2/catch.hpp>

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
