// attention: the reference against PyTorch's F.scaled_dot_product_attention (fixtures from
// tests/golden/ops/make_attention.py), the cpu backend (every ISA path, so every kernel set, in f32
// and bf16 precision) against the reference over a shape grid with Q/K/V as strided views of packed
// projections, the amx kernel set on emulated tiles, the softmax's 2^x against exp2, and the argument
// checks.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "amx_emulator.hpp"
#include "cpu_isa.hpp"
#include "grid.hpp"
#include "internvl/backend/cpu/attention.hpp"
#include "internvl/backend/reference/attention.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

Tensor<std::uint8_t, 2> to_mask(const Tensor<float, 2>& m) {
  Tensor<std::uint8_t, 2> mask(m.shape());
  for (index_t i = 0; i < m.numel(); ++i) {
    mask.data()[i] = m.data()[i] != 0.0f ? 1 : 0;
  }
  return mask;
}

// True when every element of rows [b, i, :, :] listed by `hidden(b, i)` is exactly 0.
template <class Hidden>
bool hidden_rows_are_zero(const CView<float, 4>& out, Hidden hidden) {
  for (index_t b = 0; b < out.size(0); ++b) {
    for (index_t i = 0; i < out.size(1); ++i) {
      if (!hidden(b, i)) {
        continue;
      }
      for (index_t h = 0; h < out.size(2); ++h) {
        for (index_t d = 0; d < out.size(3); ++d) {
          if (out(b, i, h, d) != 0.0f) {
            return false;
          }
        }
      }
    }
  }
  return true;
}

}  // namespace

TEST_CASE("reference attention matches PyTorch scaled_dot_product_attention", "[attention]") {
  Context<backend::reference> ctx;
  for (const std::string name : {"self", "causal", "masked", "causal_masked", "cross", "causal_cross"}) {
    INFO("fixture " << name);
    auto path = [&](const std::string& what) {
      return testing::golden_path("ops/attention/" + name + "_" + what + ".npy");
    };
    const auto q = io::read_npy_f32<4>(path("q"));
    const auto k = io::read_npy_f32<4>(path("k"));
    const auto v = io::read_npy_f32<4>(path("v"));
    const auto expected = io::read_npy_f32<4>(path("o"));
    const auto params = io::read_npy_f32<1>(path("params"));
    const bool has_mask = name != "self" && name != "causal";
    const auto mask = has_mask ? to_mask(io::read_npy_f32<2>(path("mask"))) : Tensor<std::uint8_t, 2>{};
    const ops::AttentionOptions options{params(0), params(1) != 0.0f,
                                        has_mask ? mask.view() : CView<std::uint8_t, 2>{}};
    Tensor<float, 4> out(q.shape());
    testing::poison(out.view());
    ops::attention(ctx, out.view(), q.view(), k.view(), v.view(), options);
    REQUIRE(testing::relative_l2(out.view(), expected.view()) < 1e-6);
  }
}

// PyTorch (>= 2.5) and we agree: a query that sees no key gets 0, not the NaN of a plain softmax.
TEST_CASE("attention gives 0 to a query that sees no key", "[attention]") {
  const auto load = [](const std::string& what) {
    return io::read_npy_f32<4>(testing::golden_path("ops/attention/causal_masked_" + what + ".npy"));
  };
  const auto q = load("q"), k = load("k"), v = load("v");
  const auto mask = to_mask(io::read_npy_f32<2>(testing::golden_path("ops/attention/causal_masked_mask.npy")));
  REQUIRE(mask(0, 0) == 0);  // so query 0 of batch 0 sees nothing under causality
  const ops::AttentionOptions options{0.25f, true, mask.view()};
  Tensor<float, 4> want(q.shape());
  Tensor<float, 4> got(q.shape());
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  ops::attention(ref, want.view(), q.view(), k.view(), v.view(), options);
  testing::poison(got.view());
  ops::attention(cpu, got.view(), q.view(), k.view(), v.view(), options);
  const auto first_query_of_batch_0 = [](index_t b, index_t i) { return b == 0 && i == 0; };
  CHECK(hidden_rows_are_zero(want.view(), first_query_of_batch_0));
  CHECK(hidden_rows_are_zero(got.view(), first_query_of_batch_0));
  CHECK(testing::relative_l2(got.view(), want.view()) < 1e-5);
}

TEST_CASE("attention rejects inconsistent arguments", "[attention]") {
  Context<backend::reference> ctx;
  Tensor<float, 4> q(Extents<4>{2, 5, 3, 8}, 0.5f);
  Tensor<float, 4> k(Extents<4>{2, 7, 3, 8}, 0.5f);
  Tensor<float, 4> v(Extents<4>{2, 7, 3, 8}, 0.5f);
  Tensor<float, 4> out(Extents<4>{2, 5, 3, 8});
  Tensor<float, 4> k_heads(Extents<4>{2, 7, 4, 8}, 0.5f);
  Tensor<float, 4> out_short(Extents<4>{2, 4, 3, 8});
  Tensor<std::uint8_t, 2> mask(Extents<2>{2, 5}, 1);
  const ops::AttentionOptions plain{0.3f};

  REQUIRE_THROWS_WITH(ops::attention(ctx, out_short.view(), q.view(), k.view(), v.view(), plain),
                      Catch::Contains("ops::attention") && Catch::Contains("out has shape [2, 4, 3, 8]"));
  REQUIRE_THROWS_WITH(ops::attention(ctx, out.view(), q.view(), k_heads.view(), k_heads.view(), plain),
                      Catch::Contains("ops::attention") && Catch::Contains("disagree on batch, heads or head dim"));
  REQUIRE_THROWS_WITH(ops::attention(ctx, out.view(), q.view(), k.view(), k_heads.view(), plain),
                      Catch::Contains("ops::attention") && Catch::Contains("k has shape [2, 7, 3, 8] but v has shape"));
  Tensor<float, 4> out_long(Extents<4>{2, 7, 3, 8});  // 7 queries, 5 keys: causal leaves the first two none
  REQUIRE_THROWS_WITH(
      ops::attention(ctx, out_long.view(), k.view(), q.view(), q.view(), {0.3f, true}),
      Catch::Contains("ops::attention") && Catch::Contains("causal attention needs no more queries than keys"));
  REQUIRE_THROWS_WITH(
      ops::attention(ctx, out.view(), q.view(), k.view(), v.view(), {0.3f, false, mask.view()}),
      Catch::Contains("ops::attention") && Catch::Contains("key_mask has shape [2, 5], expected [2, 7]"));
  Tensor<float, 4> wide(Extents<4>{2, 7, 3, 16}, 0.5f);
  const CView<float, 4> strided_dim(wide.data(), Extents<4>{2, 7, 3, 8}, Extents<4>{336, 48, 16, 2});
  REQUIRE_THROWS_WITH(
      ops::attention(ctx, out.view(), q.view(), strided_dim, strided_dim, plain),
      Catch::Contains("ops::attention") && Catch::Contains("k must have unit stride in its last dimension"));
}

namespace {

enum class Mask { none, holes, holes_and_blind_batch };

struct Case {
  index_t batch, queries, keys, heads, head_dim;
  bool causal;
  Mask mask;
};

// Q, K, V as the model holds them: strided [B, S, H, Dh] views of one packed projection per
// sequence, [B·S, 3·H·Dh] (self attention) or Q [B·Sq, H·Dh] and KV [B·Sk, 2·H·Dh] (cross).
struct Operands {
  Tensor<float, 2> q_buffer, kv_buffer;
  CView<float, 4> q, k, v;
  Tensor<std::uint8_t, 2> mask;

  static CView<float, 4> heads(const Tensor<float, 2>& buffer, index_t batch, index_t column, index_t heads,
                               index_t head_dim) {
    const index_t rows = buffer.size(0) / batch, width = buffer.size(1);
    return {buffer.data() + column, Extents<4>{batch, rows, heads, head_dim},
            Extents<4>{rows * width, width, head_dim, 1}};
  }

  explicit Operands(const Case& c, std::uint64_t seed) {
    const index_t width = c.heads * c.head_dim;
    const bool self = c.queries == c.keys;
    kv_buffer = testing::random_tensor(Extents<2>{c.batch * c.keys, (self ? 3 : 2) * width}, seed, -2.0f, 2.0f);
    if (self) {
      q = heads(kv_buffer, c.batch, 0, c.heads, c.head_dim);
    } else {
      q_buffer = testing::random_tensor(Extents<2>{c.batch * c.queries, width}, seed + 1, -2.0f, 2.0f);
      q = heads(q_buffer, c.batch, 0, c.heads, c.head_dim);
    }
    k = heads(kv_buffer, c.batch, self ? width : 0, c.heads, c.head_dim);
    v = heads(kv_buffer, c.batch, self ? 2 * width : width, c.heads, c.head_dim);
    if (c.mask != Mask::none) {
      // Random holes, a hidden stretch longer than a key block when there are enough keys, and
      // (holes_and_blind_batch) a last batch that sees no key at all.
      mask = Tensor<std::uint8_t, 2>(Extents<2>{c.batch, c.keys});
      std::mt19937_64 gen(seed + 2);
      for (index_t b = 0; b < c.batch; ++b) {
        for (index_t j = 0; j < c.keys; ++j) {
          const bool blind = c.mask == Mask::holes_and_blind_batch && b == c.batch - 1;
          const bool stretch = c.keys > 400 && j >= 100 && j < 300;
          mask(b, j) = !blind && !stretch && gen() % 10 >= 3 ? 1 : 0;
        }
      }
    }
  }

  ops::AttentionOptions options(const Case& c) const {
    return {1.0f / std::sqrt(static_cast<float>(c.head_dim)), c.causal,
            c.mask != Mask::none ? mask.view() : CView<std::uint8_t, 2>{}};
  }
};

// Where products run on bf16 operands (Q, K, V and the probabilities rounded to bf16, f32
// accumulation), the output is within this relative L2 error of the f32 reference (the grid gives
// 2.5e-3 to 3.6e-3; f32 products give below 1e-6).
constexpr double kBf16Tolerance = 6e-3;

// got against want (the reference) within `tolerance`; a blind batch's rows must be exactly 0.
void check_output(const CView<float, 4>& got, const CView<float, 4>& want, const Case& c, double tolerance) {
  const double err = testing::relative_l2(got, want);
  INFO("relative L2 " << err);
  REQUIRE(err < tolerance);
  if (c.mask == Mask::holes_and_blind_batch) {
    REQUIRE(hidden_rows_are_zero(got, [&](index_t b, index_t) { return b == c.batch - 1; }));
  }
}

// Runs `run(out, operands, case)` on a NaN-poisoned output and compares with the reference.
template <class Run>
void check_against_reference(std::span<const Case> cases, Run run, double tolerance = 1e-5) {
  Context<backend::reference> ref;
  std::uint64_t seed = 100;
  for (const Case& c : cases) {
    INFO("B " << c.batch << " Sq " << c.queries << " Sk " << c.keys << " H " << c.heads << " Dh " << c.head_dim
              << (c.causal ? " causal" : "") << " mask " << static_cast<int>(c.mask));
    const Operands in(c, seed++);
    Tensor<float, 4> want(Extents<4>{c.batch, c.queries, c.heads, c.head_dim});
    Tensor<float, 4> got(want.shape());
    ops::attention(ref, want.view(), in.q, in.k, in.v, in.options(c));
    testing::poison(got.view());
    run(got.view(), in, c);
    check_output(got.view(), want.view(), c, tolerance);
  }
}

// {B, Sq, Sk, H, Dh, causal, mask}: InternViT shapes (tokens 257 / 1025 / 1297, head dims 64, 128,
// 200, 256), attention pooling and QLLaMA cross attention, awkward sizes around the vector width
// and the 48-query / 128-key blocks. The reference is scalar, so big shapes get few heads.
const std::vector<Case> kGrid = {
    {1, 1, 1, 1, 64, false, Mask::none},
    {2, 3, 3, 5, 17, true, Mask::none},
    {2, 17, 17, 3, 40, false, Mask::holes},
    {1, 17, 17, 25, 3, false, Mask::none},
    {1, 17, 17, 16, 128, true, Mask::holes_and_blind_batch},
    {1, 49, 49, 2, 200, false, Mask::none},
    {1, 130, 130, 2, 3, true, Mask::holes},
    {1, 257, 257, 2, 128, false, Mask::none},
    {2, 257, 257, 1, 200, false, Mask::holes_and_blind_batch},
    {1, 257, 257, 3, 64, true, Mask::holes},
    {2, 96, 257, 2, 128, false, Mask::holes},
    {1, 5, 130, 2, 17, false, Mask::holes},
    {3, 4, 33, 3, 40, false, Mask::holes_and_blind_batch},
    {1, 1, 1025, 16, 256, false, Mask::none},
    {2, 1, 257, 16, 200, false, Mask::holes_and_blind_batch},
    {2, 2, 600, 1, 3, false, Mask::holes},
    // Causal with fewer queries than keys (the queries are the last positions): a text after QLLaMA's 96
    // queries, a block of keys crossed, the direct path.
    {1, 20, 116, 2, 64, true, Mask::none},
    {2, 17, 150, 3, 17, true, Mask::holes},
    {2, 3, 33, 2, 40, true, Mask::holes},
    // InternViT-sized (left out under INTERNVL_TEST_SIZES=small):
    {1, 1025, 1025, 1, 64, false, Mask::holes},
    {1, 1025, 1025, 1, 256, true, Mask::none},
    {1, 1297, 1297, 1, 128, false, Mask::none},
};

}  // namespace

TEST_CASE("cpu attention matches the reference on every path, in f32 and bf16 precision", "[attention]") {
  // avx2: the portable kernels; avx512: the AVX-512 ones; avx512_bf16: those again in f32
  // precision, and the bf16-product kernels in bf16 precision (elsewhere bf16 precision is f32).
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  std::uint64_t seed = 100;
  for (const Case& c : testing::sized(std::span<const Case>(kGrid), 16)) {
    INFO("B " << c.batch << " Sq " << c.queries << " Sk " << c.keys << " H " << c.heads << " Dh " << c.head_dim
              << (c.causal ? " causal" : "") << " mask " << static_cast<int>(c.mask));
    const Operands in(c, seed++);
    Tensor<float, 4> want(Extents<4>{c.batch, c.queries, c.heads, c.head_dim});
    Tensor<float, 4> got(want.shape());
    ops::attention(ref, want.view(), in.q, in.k, in.v, in.options(c));
    testing::for_each_cpu_isa([&](cpu::Isa isa) {
      for (cpu::Precision precision : {cpu::Precision::f32, cpu::Precision::bf16}) {
        INFO("precision " << cpu::precision_name(precision));
        cpu.set_matmul_precision(precision);
        testing::poison(got.view());
        ops::attention(cpu, got.view(), in.q, in.k, in.v, in.options(c));
        check_output(got.view(), want.view(), c, cpu::bf16_products(isa, precision) ? kBf16Tolerance : 1e-5);
      }
    });
  }
}

TEST_CASE("the amx attention kernels match the reference on emulated tiles", "[attention]") {
  // The amx path's kernel set on the AMX emulator (support/amx_emulator.hpp), run by flash.hpp as on
  // the hardware: every grid case it serves (head dims of whole 32s) but the InternViT-sized ones, and
  // key counts that end inside a 32-key chunk, odd, with causal trimming and masks.
  if (!cpu::cpu_features().avx512_bf16) {
    WARN("this CPU lacks AVX512-BF16, which the amx kernels' packing uses: they are not tested here");
    return;
  }
  using Emulated = cpu::attention::AmxKernels<testing::EmulatedTiles>;
  std::vector<Case> cases = {{1, 77, 77, 2, 32, true, Mask::holes},
                             {1, 70, 161, 2, 32, true, Mask::holes},
                             {1, 100, 77, 2, 32, false, Mask::holes},
                             {2, 50, 161, 1, 96, false, Mask::holes_and_blind_batch},
                             {1, 33, 300, 2, 64, false, Mask::holes}};
  for (const Case& c : kGrid) {
    if (Emulated::fits(c.head_dim) && c.queries * c.keys * c.heads <= 300'000) {
      cases.push_back(c);
    }
  }
  Context<backend::cpu> cpu;
  check_against_reference(
      cases,
      [&](View<float, 4> out, const Operands& in, const Case& c) {
        cpu::attention::flash_attention<Emulated>(cpu, out, in.q, in.k, in.v, in.options(c));
      },
      kBf16Tolerance);
}

namespace {

// 2^x of the cpu attention's softmax on `xs`, by the portable kernels' xsimd version and, where the CPU
// has AVX-512, by the AVX-512 one, 16 at a time (xs.size() a multiple of 16).
std::vector<float> exp2_portable(const std::vector<float>& xs) {
  std::vector<float> out(xs.size());
  for (std::size_t i = 0; i < xs.size(); i += cpu::kLanes) {
    cpu::attention::portable::exp2_nonpositive(cpu::load(xs.data() + i)).store_unaligned(out.data() + i);
  }
  return out;
}

#if defined(INTERNVL_ATTENTION_AVX512)
[[gnu::target("avx512f,avx512dq")]] std::vector<float> exp2_avx512(const std::vector<float>& xs) {
  std::vector<float> out(xs.size());
  for (std::size_t i = 0; i < xs.size(); i += 16) {
    _mm512_storeu_ps(out.data() + i, cpu::attention::avx512::exp2_nonpositive(_mm512_loadu_ps(xs.data() + i)));
  }
  return out;
}
#endif

}  // namespace

// The softmax's 2^x for x <= 0 (online_softmax.hpp's P(f) on f = x − floor(x)): within 2e-7 of
// exp2 wherever the result is a normal float, exactly 1 at 0 (so an unmoved row max rescales by
// exactly 1), exactly 0 for −∞ (a hidden key), and never more than the smallest normal float off
// where the result underflows.
TEST_CASE("the softmax's 2^x is within 2e-7 of exp2, 1 at 0 and 0 at -inf", "[attention]") {
  std::vector<float> xs;
  for (int i = 0; i < 160 * 4096; ++i) {  // [-160, 0) in steps of 1/4096, then the edges
    xs.push_back(-static_cast<float>(i) / 4096.0f);
  }
  for (float x : {-0.0f, -1e-8f, -1e-30f, -0.5f, -126.0f, -126.5f, -149.0f, -149.9f, -200.0f, -1e30f,
                  -std::numeric_limits<float>::infinity()}) {
    xs.push_back(x);
  }
  xs.resize((xs.size() + 15) / 16 * 16, -1.0f);
  auto check = [&](const std::vector<float>& got) {
    const auto smallest_normal = static_cast<double>(std::numeric_limits<float>::min());
    double worst = 0.0, worst_underflow = 0.0;  // relative error, and absolute where exp2 is below normal
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const double want = std::exp2(static_cast<double>(xs[i]));
      const double error = std::abs(got[i] - want);
      if (want >= smallest_normal) {
        worst = std::max(worst, error / want);
      } else {
        worst_underflow = std::max(worst_underflow, error);
      }
    }
    INFO("worst relative error " << worst << ", worst absolute error below normal " << worst_underflow);
    CHECK(worst < 2e-7);
    CHECK(worst_underflow <= smallest_normal);
    CHECK(got[0] == 1.0f);
    CHECK(got[160 * 4096] == 1.0f);       // −0
    CHECK(got[160 * 4096 + 10] == 0.0f);  // −∞
  };
  check(exp2_portable(xs));
#if defined(INTERNVL_ATTENTION_AVX512)
  if (cpu::cpu_features().avx512) {
    check(exp2_avx512(xs));
  }
#endif
}

TEST_CASE("cpu attention splits work over any number of threads", "[attention]") {
  const std::vector<Case> cases = {{2, 100, 100, 3, 40, true, Mask::holes}, {3, 2, 77, 1, 17, false, Mask::holes}};
  for (int threads : {1, 3, 8}) {
    INFO(threads << " threads");
    ThreadPool pool(threads);
    Context<backend::cpu> cpu(pool);
    check_against_reference(cases, [&](View<float, 4> out, const Operands& in, const Case& c) {
      ops::attention(cpu, out, in.q, in.k, in.v, in.options(c));
    });
  }
}

TEST_CASE("cpu attention writes strided outputs and reuses its workspace", "[attention]") {
  const Case c{2, 50, 50, 3, 24, false, Mask::holes};
  const Operands in(c, 7);
  // The output is a [B, S, H, Dh] view into a wider buffer, as when heads land in a residual stream.
  Tensor<float, 2> buffer(Extents<2>{c.batch * c.queries, 2 * c.heads * c.head_dim});
  const View<float, 4> out(buffer.data(), Extents<4>{c.batch, c.queries, c.heads, c.head_dim},
                           Extents<4>{c.queries * buffer.size(1), buffer.size(1), c.head_dim, 1});
  Tensor<float, 4> want(Extents<4>{c.batch, c.queries, c.heads, c.head_dim});
  Context<backend::reference> ref;
  ops::attention(ref, want.view(), in.q, in.k, in.v, in.options(c));

  Context<backend::cpu> cpu;
  testing::poison(buffer.view());
  ops::attention(cpu, out, in.q, in.k, in.v, in.options(c));
  REQUIRE(testing::relative_l2(CView<float, 4>(out), want.view()) < 1e-5);
  const std::size_t allocations = cpu.workspace().allocation_count();
  for (int call = 0; call < 3; ++call) {
    ops::attention(cpu, out, in.q, in.k, in.v, in.options(c));
  }
  REQUIRE(cpu.workspace().allocation_count() == allocations);
  REQUIRE(std::isnan(buffer(0, c.heads * c.head_dim)));  // the other half of each row is not touched
}
