// OpProfile (core/op_profile.hpp) and the op front doors that time into it (ops/profiled.hpp): what
// is counted (calls, FLOPs of the products, only the outermost op of a nested call, nothing for a
// call that throws), the table's order and columns, and that a cpu context without a profile, or a
// reference context, times nothing.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "internvl/backend/cpu/conv2d.hpp"
#include "internvl/backend/cpu/linear.hpp"
#include "internvl/backend/cpu/softmax.hpp"
#include "internvl/backend/reference/linear.hpp"
#include "internvl/core/tensor.hpp"
#include "internvl/ops/profiled.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

const OpProfile::Entry* find(const OpProfile& profile, std::string_view op) {
  for (const OpProfile::Entry& e : profile.entries()) {
    if (e.op == op) {
      return &e;
    }
  }
  return nullptr;
}

}  // namespace

TEST_CASE("OpProfile sums calls, time and FLOPs per op, in the order of first call", "[op_profile]") {
  OpProfile profile;
  profile.add("ops::softmax", 0.5, 0.0);
  profile.add("ops::linear", 2.0, 8e9);
  profile.add("ops::linear", 1.0, 4e9);
  REQUIRE(profile.entries().size() == 2);
  CHECK(profile.entries()[0].op == "ops::softmax");
  const OpProfile::Entry& linear = profile.entries()[1];
  CHECK(linear.calls == 2);
  CHECK(linear.seconds == 3.0);
  CHECK(linear.flops == 12e9);
  CHECK(profile.total_seconds() == 3.5);

  // Longest first; GFLOP/s (12e9 / 3 s = 4.0) only for the product; a total line.
  const std::string table = profile.table();
  const auto linear_at = table.find("ops::linear"), softmax_at = table.find("ops::softmax");
  REQUIRE(linear_at != std::string::npos);
  REQUIRE(softmax_at != std::string::npos);
  CHECK(linear_at < softmax_at);
  const std::string linear_line = table.substr(linear_at, table.find('\n', linear_at) - linear_at);
  const std::string softmax_line = table.substr(softmax_at, table.find('\n', softmax_at) - softmax_at);
  CHECK(linear_line.find("3000.0") != std::string::npos);
  CHECK(linear_line.find("85.7%") != std::string::npos);
  CHECK(linear_line.ends_with("4.0"));
  CHECK(softmax_line.ends_with("14.3%"));
  CHECK(table.find("all ops                              3    3500.0  100.0%") != std::string::npos);

  profile.clear();
  CHECK(profile.entries().empty());
}

TEST_CASE("OpProfile::Scope times only the outermost call, and no call that throws", "[op_profile]") {
  OpProfile profile;
  {
    const OpProfile::Scope outer(profile, "ops::conv2d", 10.0);
    const OpProfile::Scope inner(profile, "ops::linear", 10.0);
  }
  REQUIRE(profile.entries().size() == 1);
  CHECK(profile.entries()[0].op == "ops::conv2d");
  CHECK(profile.entries()[0].seconds >= 0.0);

  try {
    const OpProfile::Scope failing(profile, "ops::softmax", 0.0);
    throw std::runtime_error("bad input");
  } catch (const std::runtime_error&) {
  }
  CHECK(find(profile, "ops::softmax") == nullptr);
  {
    const OpProfile::Scope after(profile, "ops::add", 0.0);  // outermost again: the failed call left no depth
  }
  CHECK(find(profile, "ops::add") != nullptr);
}

TEST_CASE("a cpu context with a profile times every op call; products count their FLOPs", "[op_profile]") {
  const index_t m = 5, k = 12, n = 7;
  const auto x = testing::random_tensor(Extents<2>{m, k}, 1);
  const auto w = testing::random_tensor(Extents<2>{n, k}, 2);
  Tensor<float, 2> y(Extents<2>{m, n});
  Context<backend::cpu> cpu;
  ops::linear(cpu, y.view(), x.view(), WeightView<2>(w.view()));  // no profile set: nothing to record into

  OpProfile profile;
  cpu.set_op_profile(&profile);
  ops::linear(cpu, y.view(), x.view(), WeightView<2>(w.view()));
  ops::linear(cpu, y.view(), x.view(), WeightView<2>(w.view()));
  ops::softmax(cpu, y.view(), CView<float, 2>(y.view()));
  const OpProfile::Entry* linear = find(profile, "ops::linear");
  REQUIRE(linear != nullptr);
  CHECK(linear->calls == 2);
  CHECK(linear->flops == 2 * 2.0 * m * n * k);
  CHECK(linear->seconds > 0.0);
  const OpProfile::Entry* softmax = find(profile, "ops::softmax");
  REQUIRE(softmax != nullptr);
  CHECK(softmax->calls == 1);
  CHECK(softmax->flops == 0.0);

  // A shape error is thrown before the op runs: no call recorded.
  Tensor<float, 2> wrong(Extents<2>{m, n + 1});
  CHECK_THROWS_AS(ops::linear(cpu, wrong.view(), x.view(), WeightView<2>(w.view())), Error);
  CHECK(find(profile, "ops::linear")->calls == 2);

  // The cpu conv2d runs as an ops::linear over patches: it counts as one conv2d call.
  profile.clear();
  const auto image = testing::random_tensor(Extents<4>{1, 3, 8, 8}, 3);
  const auto kernel = testing::random_tensor(Extents<4>{4, 3, 2, 2}, 4);
  Tensor<float, 4> features(Extents<4>{1, 4, 4, 4});
  ops::conv2d(cpu, features.view(), image.view(), WeightView<4>(kernel.view()), {}, {2, 2}, {0, 0});
  REQUIRE(profile.entries().size() == 1);
  CHECK(profile.entries()[0].op == "ops::conv2d");
  CHECK(profile.entries()[0].flops == 2.0 * (4 * 4 * 4) * (3 * 2 * 2));

  cpu.set_op_profile(nullptr);
  ops::softmax(cpu, y.view(), CView<float, 2>(y.view()));
  CHECK(find(profile, "ops::softmax") == nullptr);

  Context<backend::reference> ref;  // no op_profile(): the front door runs the op untimed
  ops::linear(ref, y.view(), x.view(), WeightView<2>(w.view()));
  CHECK(profile.entries().size() == 1);
}
