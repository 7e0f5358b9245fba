// mean_tokens: the reference against PyTorch (x[:, 1:S].mean(1)), the cpu backend against the
// reference over batches × token counts × widths and token ranges (with a large common offset,
// where uncompensated f32 sums drift), the same bits on any number of threads, and argument errors.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "grid.hpp"
#include "internvl/backend/cpu/mean_tokens.hpp"
#include "internvl/backend/reference/mean_tokens.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

TEST_CASE("reference and cpu mean_tokens match PyTorch", "[mean_tokens]") {
  const auto x = io::read_npy_f32<3>(testing::golden_path("ops/eltwise/mean_tokens_x.npy"));
  const auto expected = io::read_npy_f32<2>(testing::golden_path("ops/eltwise/mean_tokens_out.npy"));
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  Tensor<float, 2> out(expected.shape());
  ops::mean_tokens(ref, out.view(), x.view(), 1, x.size(1));
  REQUIRE(testing::relative_l2(out.view(), expected.view()) < 1e-6);
  testing::poison(out.view());
  ops::mean_tokens(cpu, out.view(), x.view(), 1, x.size(1));
  REQUIRE(testing::relative_l2(out.view(), expected.view()) < 1e-6);
}

TEST_CASE("cpu mean_tokens matches the reference over the grid", "[mean_tokens]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  for (index_t batch : {1, 2}) {
    for (index_t tokens : testing::grid_rows()) {
      for (index_t width : testing::grid_widths()) {
        const auto plain =
            testing::random_tensor(Extents<3>{batch, tokens, width}, testing::grid_seed(tokens, width) + batch, -3, 3);
        for (float offset : {0.0f, 1000.0f}) {
          const auto x = testing::shifted(plain, offset);
          // All tokens, the patch tokens after CLS, and a range in the middle.
          for (const auto& [begin, end] : {std::pair{index_t{0}, tokens}, std::pair{std::min<index_t>(1, tokens - 1), tokens},
                                           std::pair{tokens / 3, tokens / 3 + 1}}) {
            INFO("batch " << batch << " tokens " << tokens << " width " << width << " offset " << offset << " range ["
                          << begin << ", " << end << ")");
            Tensor<float, 2> want(Extents<2>{batch, width});
            Tensor<float, 2> got(Extents<2>{batch, width});
            testing::poison(got.view());
            ops::mean_tokens(ref, want.view(), x.view(), begin, end);
            ops::mean_tokens(cpu, got.view(), x.view(), begin, end);
            REQUIRE(testing::relative_l2(got.view(), want.view()) < 1e-6);
            // Within 2 ulp of the reference (1.2e-4 for values near 1000): an uncompensated f32 sum
            // of 1297 tokens near 1000 drifts by about 1e-3.
            float worst = 0.0f;
            for (index_t i = 0; i < got.numel(); ++i) {
              worst = std::max(worst, std::abs(got.data()[i] - want.data()[i]));
            }
            REQUIRE(worst <= 1.25e-4f);
          }
        }
      }
    }
  }
}

TEST_CASE("mean_tokens rejects bad arguments", "[mean_tokens]") {
  Context<backend::cpu> cpu;
  Tensor<float, 3> x(Extents<3>{2, 5, 8}, 1.0f);
  Tensor<float, 2> out(Extents<2>{2, 8});
  Tensor<float, 2> out_bad(Extents<2>{1, 8});
  REQUIRE_THROWS_WITH(ops::mean_tokens(cpu, out_bad.view(), x.view(), 0, 5),
                      Catch::Contains("ops::mean_tokens: out has shape [1, 8], expected [2, 8]"));
  REQUIRE_THROWS_WITH(ops::mean_tokens(cpu, out.view(), x.view(), 3, 3),
                      Catch::Contains("token range [3, 3) is empty or outside the 5 tokens"));
  REQUIRE_THROWS_WITH(ops::mean_tokens(cpu, out.view(), x.view(), 1, 6), Catch::Contains("token range [1, 6)"));
  REQUIRE_THROWS_WITH(ops::mean_tokens(cpu, out.view(), x.view(), -1, 2), Catch::Contains("token range [-1, 2)"));
}

TEST_CASE("cpu mean_tokens over infinite tokens is infinite, as the reference's", "[mean_tokens]") {
  // The compensated sum's error term would be ∞ − ∞ = NaN once the running sum is infinite.
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  for (const float big : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()}) {
    Tensor<float, 3> x(Extents<3>{1, 9, 40}, 1.0f);
    for (index_t e = 0; e < 40; e += 3) {
      x(0, e % 9, e) = big;  // one infinite token in some columns, at different places
    }
    Tensor<float, 2> want(Extents<2>{1, 40}), got(Extents<2>{1, 40});
    ops::mean_tokens(ref, want.view(), x.view(), 0, 9);
    ops::mean_tokens(cpu, got.view(), x.view(), 0, 9);
    INFO("tokens of " << big);
    for (index_t e = 0; e < 40; ++e) {
      REQUIRE(got(0, e) == want(0, e));
    }
  }
}

TEST_CASE("cpu mean_tokens gives the same bits on any number of threads", "[mean_tokens]") {
  // The token range is cut into parts by its length alone, so the order of the sums, and so every bit
  // of the mean, does not depend on the pool (on values near 1000, where the order shows).
  for (const index_t tokens : {100, 257}) {
    const auto x = testing::shifted(testing::random_tensor(Extents<3>{2, tokens, 1024}, 41, -3, 3), 1000.0f);
    const auto mean_on = [&](int threads) {
      ThreadPool pool(threads);
      Context<backend::cpu> cpu(pool);
      Tensor<float, 2> out(Extents<2>{2, 1024});
      ops::mean_tokens(cpu, out.view(), x.view(), 1, tokens);
      return out;
    };
    const Tensor<float, 2> want = mean_on(1);
    for (const int threads : {2, 3, 7}) {
      INFO("tokens " << tokens << ", " << threads << " threads");
      const Tensor<float, 2> got = mean_on(threads);
      REQUIRE(std::equal(got.data(), got.data() + got.numel(), want.data()));
    }
  }
}
