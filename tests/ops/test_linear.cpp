// linear: the reference against PyTorch's F.linear / F.gelu for f32, bf16 and f16 weights; the cpu
// backend (the packed GEMM, and with streamed weights the unpacked product of gemm/few_rows.hpp)
// against the reference on every ISA path this machine has, over real InternViT shapes and awkward ones, with and
// without bias and GELU, with strided rows, in f32 and in bf16 precision (where bf16 products run, against the
// reference on operands rounded to bf16; elsewhere against the exact f32 product); the GELU epilogue against the exact
// formula; INTERNVL_CPU_ISA handling; pre-packed weights; shape errors; workspace reuse. ops::scaled_residual_linear (x
// += γ ⊙ linear(h), fused into the GEMM's epilogue on the cpu backend) and ops::norm_linear (linear(Norm(x)), the norm
// applied while the cpu GEMM packs x) against the reference's definitions, the two ops one after the other; norm_linear
// also against the cpu's own two ops, bit for bit.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "cpu_isa.hpp"
#include "grid.hpp"
#include "internvl/backend/cpu/layer_norm.hpp"
#include "internvl/backend/cpu/linear.hpp"
#include "internvl/backend/cpu/norm_linear.hpp"
#include "internvl/backend/cpu/rms_norm.hpp"
#include "internvl/backend/cpu/scaled_residual_linear.hpp"
#include "internvl/backend/reference/layer_norm.hpp"
#include "internvl/backend/reference/linear.hpp"
#include "internvl/backend/reference/rms_norm.hpp"
#include "internvl/backend/reference/scaled_residual_add.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

template <class W>
void check_reference_against_torch(const std::string& dtype) {
  const auto x = io::read_npy_f32<2>(testing::golden_path("ops/core/linear_x.npy"));
  const auto b = io::read_npy_f32<1>(testing::golden_path("ops/core/linear_b.npy"));
  const auto w = testing::convert<W>(io::read_npy_f32<2>(testing::golden_path("ops/core/linear_w_" + dtype + ".npy")));
  Context<backend::reference> ctx;
  Tensor<float, 2> y(Extents<2>{x.size(0), w.size(0)});
  for (const auto& [suffix, act, bias] :
       {std::tuple{"", ops::Activation::none, true}, std::tuple{"gelu_", ops::Activation::gelu, true},
        std::tuple{"nobias_", ops::Activation::none, false}}) {
    const auto expected =
        io::read_npy_f32<2>(testing::golden_path("ops/core/linear_y_" + std::string(suffix) + dtype + ".npy"));
    ops::linear(ctx, y.view(), x.view(), w.view(), bias ? b.view() : CView<float, 1>{}, act);
    INFO("weights " << dtype << " case " << suffix);
    REQUIRE(testing::relative_l2(y.view(), expected.view()) < 1e-6);
  }
}

struct Case {
  index_t m, k, n;
  DType weights;
  bool bias;
  ops::Activation act;
  bool strided;  // x and y rows further apart than their widths
  cpu::Precision precision = cpu::Precision::f32;
  bool streamed = false;  // Context::set_weight_streaming
};

// t rounded to bf16 (to nearest even) and widened back: what the bf16 path multiplies.
template <std::size_t Rank>
Tensor<float, Rank> rounded_to_bf16(const Tensor<float, Rank>& t) {
  return testing::convert<float>(testing::convert<bf16>(t));
}

// Padding of strided rows; the padding of y must still hold its poison afterwards.
constexpr index_t kPad = 5;

// Runs one case on the reference once (twice in bf16 precision: exact and on rounded operands) and
// on the cpu backend with every ISA path, and compares.
void check_cpu_against_reference(const Case& c) {
  INFO("M " << c.m << " K " << c.k << " N " << c.n << " weights " << name_of(c.weights) << " bias " << c.bias
            << " gelu " << (c.act == ops::Activation::gelu) << " strided " << c.strided << " precision "
            << cpu::precision_name(c.precision) << " streamed " << c.streamed);
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  cpu.set_matmul_precision(c.precision);
  cpu.set_weight_streaming(c.streamed);
  const index_t pad = c.strided ? kPad : 0;
  const auto seed = static_cast<std::uint64_t>(c.m * 131 + c.k * 7 + c.n);
  const auto x_storage = testing::random_tensor(Extents<2>{c.m, c.k + pad}, seed, -2.0f, 2.0f);
  const CView<float, 2> x = x_storage.view().slice(1, 0, c.k);
  const auto w_f32 = testing::random_tensor(Extents<2>{c.n, c.k}, seed + 1, -0.1f, 0.1f);
  const auto bias = testing::random_tensor(Extents<1>{c.n}, seed + 2);
  const CView<float, 1> b = c.bias ? bias.view() : CView<float, 1>{};
  Tensor<float, 2> want(Extents<2>{c.m, c.n});
  Tensor<float, 2> want_rounded(Extents<2>{c.m, c.n});
  Tensor<float, 2> y_storage(Extents<2>{c.m, c.n + pad});
  const View<float, 2> got = y_storage.view().slice(1, 0, c.n);
  visit_dtype(c.weights, [&]<class W>(W) {
    const auto w = testing::convert<W>(w_f32);
    ops::linear(ref, want.view(), x, w.view(), b, c.act);
    if (c.precision == cpu::Precision::bf16) {
      const auto x_rounded = rounded_to_bf16(x_storage);
      const auto w_rounded = rounded_to_bf16(testing::convert<float>(w));
      ops::linear(ref, want_rounded.view(), x_rounded.view().slice(1, 0, c.k), w_rounded.view(), b, c.act);
    }
    testing::for_each_cpu_isa([&](cpu::Isa isa) {
      testing::poison(y_storage.view());
      ops::linear(cpu, got, x, w.view(), b, c.act);
      // Streamed products (at most 8 rows, no GELU) take bf16 operands only from weights stored in bf16.
      const bool streamed = c.streamed && c.m <= cpu::kFewRows && c.k >= 1 && c.act == ops::Activation::none;
      if (cpu::bf16_products(isa, c.precision) && (!streamed || c.weights == DType::bf16)) {
        // products of bf16 values are exact in f32: only the order of the additions differs
        REQUIRE(testing::relative_l2(got, want_rounded.view()) < 1e-5);
      } else {
        REQUIRE(testing::relative_l2(got, want.view()) < 1e-6);
      }
      bool padding_untouched = true;
      for_each_element(y_storage.view().slice(1, c.n, c.n + pad),
                       [&](float v) { padding_untouched = padding_untouched && std::isnan(v); });
      REQUIRE(padding_untouched);
    });
  });
}

}  // namespace

TEST_CASE("reference linear matches PyTorch", "[linear]") {
  check_reference_against_torch<float>("f32");
  check_reference_against_torch<bf16>("bf16");
  check_reference_against_torch<f16>("f16");
}

TEST_CASE("linear rejects mismatched shapes", "[linear]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  Tensor<float, 2> x(Extents<2>{4, 8}, 1.0f);
  Tensor<float, 2> w(Extents<2>{5, 9}, 1.0f);
  Tensor<float, 2> w_ok(Extents<2>{5, 8}, 1.0f);
  Tensor<float, 1> b_bad(Extents<1>{4}, 1.0f);
  Tensor<float, 2> y(Extents<2>{4, 5});
  Tensor<float, 2> y_bad(Extents<2>{4, 6});
  REQUIRE_THROWS_WITH(ops::linear(ref, y.view(), x.view(), w.view()),
                      Catch::Contains("ops::linear") && Catch::Contains("x has 8 columns"));
  REQUIRE_THROWS_WITH(ops::linear(cpu, y.view(), x.view(), w.view()), Catch::Contains("x has 8 columns"));
  REQUIRE_THROWS_WITH(ops::linear(cpu, y_bad.view(), x.view(), w_ok.view()),
                      Catch::Contains("y has shape [4, 6], expected [4, 5]"));
  REQUIRE_THROWS_WITH(ops::linear(cpu, y.view(), x.view(), w_ok.view(), b_bad.view()),
                      Catch::Contains("bias has 4 elements, expected 5"));
}

TEST_CASE("cpu linear matches the reference on awkward shapes", "[linear]") {
  // M around the micro-tile rows (8 / 4), N around its columns (48 / 24) and the N block, K around
  // the K block and the 8-wide packing transposes; K = 0 leaves bias and activation only.
  // The bf16 path's K block (kc16) too, odd K around it (pairs padded with a zero k).
  const index_t kc = cpu::packed::avx512::kKernels.kc, nc = cpu::packed::avx512::kKernels.nc;
  const index_t kc16 = cpu::packed::avx512_bf16::kKernels.kc;
  const Extents<3> shapes[] = {{1, 1, 1},
                               {3, 17, 5},
                               {17, 33, 65},
                               {5, 0, 7},
                               {8, kc, 48},
                               {7, kc - 1, 47},
                               {9, kc + 1, 49},
                               {33, 2 * kc + 8, 97},
                               {4, 13, 4 * nc + 51},
                               {100, 7, 3},
                               {2, 3 * kc - 5, nc + 1},
                               {7, kc16 - 1, 47},
                               {9, kc16 + 1, 49},
                               {6, 4096, 37},  // decoding: beams × QLLaMA's width
                               {5, 4103, 300}};
  for (const auto& [m, k, n] : shapes) {
    for (DType weights : {DType::f32, DType::bf16, DType::f16}) {
      for (const auto& [bias, act] :
           {std::pair{false, ops::Activation::none}, std::pair{true, ops::Activation::none},
            std::pair{true, ops::Activation::gelu}, std::pair{false, ops::Activation::gelu}}) {
        for (cpu::Precision precision : {cpu::Precision::f32, cpu::Precision::bf16}) {
          check_cpu_against_reference({m, k, n, weights, bias, act, (m + k + n) % 2 == 1, precision});
        }
      }
    }
  }
}

TEST_CASE("cpu linear with streamed weights matches the reference, each row the same alone or among others",
          "[linear]") {
  // Context::set_weight_streaming (gemm/few_rows.hpp): every row count 1-8 (a kernel each), K around
  // the 8-wide vectors and at QLLaMA's 4096, N around the column groups of 1-4; every weight dtype, bias
  // or not, strided rows; bf16 precision (vdpbf16ps on bf16 weights, 16 k a step, so K around 16 too;
  // f32 products on f16 weights). More rows and GELU take the packed product.
  // QLLaMA-sized K from the tenth shape on (not under INTERNVL_TEST_SIZES=small).
  const Extents<3> shapes[] = {{1, 1, 1},     {2, 7, 5},     {3, 8, 4},     {4, 9, 9}, {6, 33, 13},
                               {7, 100, 3},   {9, 17, 6},    {13, 64, 11},  {5, 0, 3}, {5, 4096, 37},
                               {8, 4103, 21}, {1, 11008, 7}, {20, 4096, 17}};
  for (const auto& [m, k, n] : testing::sized(shapes, 9)) {
    for (DType weights : {DType::f32, DType::bf16, DType::f16}) {
      for (const bool bias : {false, true}) {
        check_cpu_against_reference(
            {m, k, n, weights, bias, ops::Activation::none, (m + n) % 2 == 1, cpu::Precision::f32, true});
      }
    }
    check_cpu_against_reference({m, k, n, DType::bf16, true, ops::Activation::gelu, false, cpu::Precision::f32, true});
    for (DType weights : {DType::bf16, DType::f16}) {
      check_cpu_against_reference(
          {m, k, n, weights, true, ops::Activation::none, (m + n) % 2 == 0, cpu::Precision::bf16, true});
    }
  }
  // A row's bits do not depend on the rows beside it (in either precision), nor on the path (in f32),
  // and norm_linear is norm then linear bit for bit.
  const index_t m = 8, k = 4101, n = 29;
  const auto x = testing::random_tensor(Extents<2>{m, k}, 91, -2.0f, 2.0f);
  const auto w = testing::convert<bf16>(testing::random_tensor(Extents<2>{n, k}, 92, -0.1f, 0.1f));
  const auto bias = testing::random_tensor(Extents<1>{n}, 93);
  const auto norm_weight = testing::random_tensor(Extents<1>{k}, 94, 0.5f, 1.5f);
  Context<backend::cpu> ctx;
  ctx.set_weight_streaming(true);
  Tensor<float, 2> all(Extents<2>{m, n});
  for (const cpu::Precision precision : {cpu::Precision::bf16, cpu::Precision::f32}) {
    ctx.set_matmul_precision(precision);
    ops::linear(ctx, all.view(), x.view(), w.view(), bias.view());
    for (index_t first = 0; first < m; first += 3) {
      const index_t last = std::min(m, first + 3);
      Tensor<float, 2> some(Extents<2>{last - first, n});
      ops::linear(ctx, some.view(), x.view().slice(0, first, last), w.view(), bias.view());
      REQUIRE(std::memcmp(some.data(), &all(first, 0), sizeof(float) * static_cast<std::size_t>(some.numel())) == 0);
    }
  }
  // Nor on the path: AVX2 and AVX-512 compile the same arithmetic for 16 and 32 registers.
  testing::for_each_cpu_isa([&](cpu::Isa) {
    Tensor<float, 2> on_path(Extents<2>{m, n});
    ops::linear(ctx, on_path.view(), x.view(), w.view(), bias.view());
    REQUIRE(std::memcmp(on_path.data(), all.data(), sizeof(float) * static_cast<std::size_t>(m * n)) == 0);
  });
  const ops::Normalization rms{.kind = config::Norm::rms_norm, .weight = norm_weight.view(), .eps = 1e-6f};
  Tensor<float, 2> normed(Extents<2>{m, k}), two_ops(Extents<2>{m, n}), fused(Extents<2>{m, n});
  ops::norm(ctx, normed.view(), x.view(), rms);
  ops::linear(ctx, two_ops.view(), normed.view(), w.view(), bias.view());
  ops::norm_linear(ctx, fused.view(), x.view(), rms, w.view(), bias.view());
  REQUIRE(std::memcmp(fused.data(), two_ops.data(), sizeof(float) * static_cast<std::size_t>(m * n)) == 0);
}

TEST_CASE("cpu linear matches the reference at InternViT shapes", "[linear]") {
  // 300M qkv / fc1 at 1025 tokens, 6B fc1 / fc2 / qkv at 257 and 1025 tokens; each shape gets one
  // weight dtype and one epilogue so that every combination appears without repeating the big ones.
  // Under INTERNVL_TEST_SIZES=small only the first (300M qkv at 257 tokens) runs.
  const Case cases[] = {
      {257, 1024, 3072, DType::f32, true, ops::Activation::none, false},
      {1025, 1024, 4096, DType::bf16, true, ops::Activation::gelu, false},
      {1025, 3200, 9600, DType::f16, false, ops::Activation::none, false},
      {257, 3200, 12800, DType::bf16, true, ops::Activation::gelu, true},
      {257, 12800, 3200, DType::f32, true, ops::Activation::none, true},
      {257, 1024, 3072, DType::f32, true, ops::Activation::gelu, true, cpu::Precision::bf16},
      {1025, 1024, 4096, DType::bf16, true, ops::Activation::none, false, cpu::Precision::bf16},
  };
  for (const Case& c : testing::sized(cases, 1)) {
    check_cpu_against_reference(c);
  }
}

TEST_CASE("cpu linear with pre-packed weights gives the per-call result bit for bit", "[linear]") {
  // A weight with a PackSlot (as a WeightStore gives it) in a context with weight prepacking: packed
  // once for the path and precision in use (gemm/prepack.hpp), then read packed; the same kernels on
  // the same bytes, so the same bits. A slot packed for other kernels is not used. The last shape is
  // InternViT's (left out under INTERNVL_TEST_SIZES=small, grid.hpp).
  const index_t kc = cpu::packed::avx512::kKernels.kc, nc = cpu::packed::avx512::kKernels.nc;
  const Extents<3> shapes[] = {{3, 17, 5}, {5, 0, 7}, {33, 2 * kc + 8, 97}, {4, 13, 2 * nc + 51}, {257, 1024, 200}};
  for (const Extents<3>& shape : testing::sized(shapes, 4)) {
    const index_t m = shape[0], k = shape[1], n = shape[2];  // not bindings: clang < 16 cannot capture those
    const auto x = testing::random_tensor(Extents<2>{m, k}, 5);
    const auto bias = testing::random_tensor(Extents<1>{n}, 6);
    const auto w_f32 = testing::random_tensor(Extents<2>{n, k}, 7, -0.1f, 0.1f);
    for (DType weights : {DType::f32, DType::bf16}) {
      visit_dtype(weights, [&]<class W>(W) {
        const auto w = testing::convert<W>(w_f32);
        testing::for_each_cpu_isa([&](cpu::Isa isa) {
          PackSlot other_kernels;  // filled for f32 products, then offered to bf16 ones
          for (cpu::Precision precision : {cpu::Precision::f32, cpu::Precision::bf16}) {
            INFO("M " << m << " K " << k << " N " << n << " weights " << name_of(weights) << " precision "
                      << cpu::precision_name(precision));
            Context<backend::cpu> per_call, prepacked;
            per_call.set_matmul_precision(precision);
            prepacked.set_matmul_precision(precision);
            prepacked.set_weight_prepacking(true);
            PackSlot slot;
            const WeightView<2> packable = WeightView<2>(w.view()).with_pack_slot(&slot);
            Tensor<float, 2> want(Extents<2>{m, n}), got(Extents<2>{m, n});
            ops::linear(per_call, want.view(), x.view(), w.view(), bias.view(), ops::Activation::gelu);
            for (int pass = 0; pass < 2; ++pass) {  // packs, then reads the packed panels
              testing::poison(got.view());
              ops::linear(prepacked, got.view(), x.view(), packable, bias.view(), ops::Activation::gelu);
              REQUIRE(std::memcmp(got.data(), want.data(), sizeof(float) * static_cast<std::size_t>(m * n)) == 0);
            }
            REQUIRE(slot.layout == (k > 0 ? &cpu::packed::kernel_set(isa, precision) : nullptr));
            testing::poison(got.view());
            ops::linear(prepacked, got.view(), x.view(), WeightView<2>(w.view()).with_pack_slot(&other_kernels),
                        bias.view(), ops::Activation::gelu);
            REQUIRE(std::memcmp(got.data(), want.data(), sizeof(float) * static_cast<std::size_t>(m * n)) == 0);
          }
        });
      });
    }
  }
}

TEST_CASE("cpu scaled_residual_linear matches the reference's linear then scaled residual", "[linear]") {
  // x ← x + γ ⊙ (h·Wᵀ + b): on the cpu backend every K block's product is scaled and added to x in the
  // GEMM's epilogue (the bias with the last), so shapes cross the K block (several partial sums), the N
  // block and the tile's columns (edge tiles), and K = 0 (x + γ ⊙ b); with and without bias, f32 and
  // bf16 products on every ISA path, weights per call and prepacked (the same bits).
  const index_t kc = cpu::packed::avx512::kKernels.kc, nc = cpu::packed::avx512::kKernels.nc;
  const index_t kc16 = cpu::packed::avx512_bf16::kKernels.kc;
  const Extents<3> shapes[] = {{1, 1, 1}, {3, 17, 5}, {5, 0, 7}, {7, kc - 1, 47}, {33, 2 * kc + 8, 97},
                               {4, 13, 2 * nc + 51}, {9, kc16 + 1, 49}};
  for (const Extents<3>& shape : shapes) {
    const index_t m = shape[0], k = shape[1], n = shape[2];  // not bindings: clang < 16 cannot capture those
    const auto h = testing::random_tensor(Extents<2>{m, k}, 11, -2.0f, 2.0f);
    const auto x0 = testing::random_tensor(Extents<2>{m, n}, 12);
    const auto w_f32 = testing::random_tensor(Extents<2>{n, k}, 13, -0.1f, 0.1f);
    const auto bias = testing::random_tensor(Extents<1>{n}, 14);
    const auto gamma = testing::random_tensor(Extents<1>{n}, 15);
    for (DType weights : {DType::f32, DType::bf16}) {
      visit_dtype(weights, [&]<class W>(W) {
        const auto w = testing::convert<W>(w_f32);
        for (const bool with_bias : {false, true}) {
          const CView<float, 1> b = with_bias ? bias.view() : CView<float, 1>{};
          for (cpu::Precision precision : {cpu::Precision::f32, cpu::Precision::bf16}) {
            INFO("M " << m << " K " << k << " N " << n << " weights " << name_of(weights) << " bias " << with_bias
                      << " precision " << cpu::precision_name(precision));
            Context<backend::reference> ref;
            const auto operand = [&](const auto& t, bool rounded) {
              return rounded ? rounded_to_bf16(t) : testing::convert<float>(t);
            };
            testing::for_each_cpu_isa([&](cpu::Isa isa) {
              const bool bf16 = cpu::bf16_products(isa, precision);
              const auto h_ref = operand(h, bf16);
              const auto w_ref = operand(testing::convert<float>(w), bf16);
              auto want = testing::convert<float>(x0);
              ops::scaled_residual_linear(ref, want.view(), h_ref.view(), w_ref.view(), b, gamma.view());
              Context<backend::cpu> per_call, prepacked;
              per_call.set_matmul_precision(precision);
              prepacked.set_matmul_precision(precision);
              prepacked.set_weight_prepacking(true);
              PackSlot slot;
              auto got = testing::convert<float>(x0);
              ops::scaled_residual_linear(per_call, got.view(), h.view(), w.view(), b, gamma.view());
              REQUIRE(testing::relative_l2(got.view(), want.view()) < (bf16 ? 1e-5 : 1e-6));
              auto again = testing::convert<float>(x0);
              ops::scaled_residual_linear(prepacked, again.view(), h.view(), WeightView<2>(w.view()).with_pack_slot(&slot),
                                          b, gamma.view());
              REQUIRE(std::memcmp(again.data(), got.data(), sizeof(float) * static_cast<std::size_t>(m * n)) == 0);
            });
          }
        }
      });
    }
  }
}

TEST_CASE("scaled_residual_linear and the GEMM's residual epilogue reject what does not fit", "[linear]") {
  Context<backend::cpu> cpu;
  Tensor<float, 2> h(Extents<2>{4, 8}, 1.0f), w(Extents<2>{5, 8}, 1.0f), x(Extents<2>{4, 5}, 1.0f);
  Tensor<float, 2> x_bad(Extents<2>{4, 6}, 1.0f);
  Tensor<float, 1> gamma(Extents<1>{5}, 1.0f), gamma_bad(Extents<1>{4}, 1.0f);
  REQUIRE_THROWS_WITH(ops::scaled_residual_linear(cpu, x.view(), h.view(), w.view(), {}, gamma_bad.view()),
                      Catch::Contains("ops::scaled_residual_linear") && Catch::Contains("gamma has shape [4]"));
  REQUIRE_THROWS_WITH(ops::scaled_residual_linear(cpu, x_bad.view(), h.view(), w.view(), {}, gamma.view()),
                      Catch::Contains("x has shape [4, 6], expected [4, 5]"));
  REQUIRE_THROWS_WITH(cpu::gemm(cpu.pool(), cpu.workspace(), x.view(), h.view(), w.view(),
                                {.scale = gamma.view(), .gelu = true}),
                      Catch::Contains("cpu::gemm") && Catch::Contains("takes no GELU"));
}

TEST_CASE("cpu norm_linear matches the reference's norm then linear, and its own two ops bit for bit", "[linear]") {
  // y = act(Norm(x)·Wᵀ + b): on the cpu backend each panel of x's rows is normalized while the GEMM
  // packs it (row_norm.hpp, the arithmetic of the cpu norms), so the result must equal cpu ops::norm
  // then ops::linear bit for bit on every path, f32 and bf16 products, per call and prepacked, and the
  // reference's two ops within rounding. Shapes cross the K block (rows normalized over all of K,
  // packed block by block), the tile's rows and columns, and run on one thread and on two (A's panels
  // split between them); rows sit on a large common offset, which LayerNorm must remove exactly.
  // The last shape is InternViT's (left out under INTERNVL_TEST_SIZES=small, grid.hpp).
  const index_t kc = cpu::packed::avx512::kKernels.kc;
  const index_t kc16 = cpu::packed::avx512_bf16::kKernels.kc;
  const Extents<3> shapes[] = {{1, 1, 1},         {3, 17, 5},      {7, kc - 1, 47}, {33, 2 * kc + 8, 97},
                               {9, kc16 + 1, 49}, {257, 1024, 200}};
  for (const Extents<3>& shape : testing::sized(shapes, 5)) {
    const index_t m = shape[0], k = shape[1], n = shape[2];  // not bindings: clang < 16 cannot capture those
    auto x = testing::random_tensor(Extents<2>{m, k}, 21, -2.0f, 2.0f);
    for (index_t i = 0; i < m; ++i) {
      for (index_t j = 0; j < k; ++j) {
        x(i, j) += static_cast<float>(i % 3) * 50.0f;  // offsets 0, 50, 100 with deviations of ±2
      }
    }
    const auto w_f32 = testing::random_tensor(Extents<2>{n, k}, 22, -0.1f, 0.1f);
    const auto bias = testing::random_tensor(Extents<1>{n}, 23);
    const auto norm_weight = testing::random_tensor(Extents<1>{k}, 24, 0.5f, 1.5f);
    const auto norm_bias = testing::random_tensor(Extents<1>{k}, 25);
    for (const config::Norm kind : {config::Norm::rms_norm, config::Norm::layer_norm}) {
      const bool layer_norm = kind == config::Norm::layer_norm;
      const ops::Normalization norm{.kind = kind,
                                    .weight = norm_weight.view(),
                                    .bias = layer_norm ? norm_bias.view() : CView<float, 1>{},
                                    .eps = 1e-6f};
      for (const ops::Activation act : {ops::Activation::none, ops::Activation::gelu}) {
        for (DType weights : {DType::f32, DType::bf16}) {
          visit_dtype(weights, [&]<class W>(W) {
            const auto w = testing::convert<W>(w_f32);
            // The reference's result with f32 and with bf16-rounded operands, each computed once
            std::optional<Tensor<float, 2>> references[2];
            const auto reference = [&](bool bf16) -> const Tensor<float, 2>& {
              std::optional<Tensor<float, 2>>& want = references[bf16 ? 1 : 0];
              if (!want) {
                Context<backend::reference> ref;
                Tensor<float, 2> normed(Extents<2>{m, k});
                ops::norm(ref, normed.view(), x.view(), norm);
                const auto h_ref = bf16 ? rounded_to_bf16(normed) : testing::convert<float>(normed);
                const auto w_ref = bf16 ? rounded_to_bf16(testing::convert<float>(w)) : testing::convert<float>(w);
                want.emplace(Extents<2>{m, n});
                ops::linear(ref, want->view(), h_ref.view(), w_ref.view(), bias.view(), act);
              }
              return *want;
            };
            for (cpu::Precision precision : {cpu::Precision::f32, cpu::Precision::bf16}) {
              INFO("M " << m << " K " << k << " N " << n << " " << config::name_of(kind) << " gelu "
                        << (act == ops::Activation::gelu) << " weights " << name_of(weights) << " precision "
                        << cpu::precision_name(precision));
              testing::for_each_cpu_isa([&](cpu::Isa isa) {
                const bool bf16 = cpu::bf16_products(isa, precision);
                const Tensor<float, 2>& want = reference(bf16);
                Tensor<float, 2> normed(Extents<2>{m, k});
                Context<backend::cpu> per_call, prepacked;
                per_call.set_matmul_precision(precision);
                prepacked.set_matmul_precision(precision);
                prepacked.set_weight_prepacking(true);
                Tensor<float, 2> two_ops(Extents<2>{m, n}), got(Extents<2>{m, n});
                ops::norm(per_call, normed.view(), x.view(), norm);
                ops::linear(per_call, two_ops.view(), normed.view(), w.view(), bias.view(), act);
                testing::poison(got.view());
                ops::norm_linear(per_call, got.view(), x.view(), norm, w.view(), bias.view(), act);
                REQUIRE(std::memcmp(got.data(), two_ops.data(), sizeof(float) * static_cast<std::size_t>(m * n)) == 0);
                // f32: the cpu norm's rounding against the reference's; bf16: also where it moves an
                // operand across a bf16 rounding boundary
                REQUIRE(testing::relative_l2(got.view(), want.view()) < (bf16 ? 2e-4 : 2e-6));
                PackSlot slot;
                testing::poison(got.view());
                ops::norm_linear(prepacked, got.view(), x.view(), norm, WeightView<2>(w.view()).with_pack_slot(&slot),
                                 bias.view(), act);
                REQUIRE(std::memcmp(got.data(), two_ops.data(), sizeof(float) * static_cast<std::size_t>(m * n)) == 0);
              });
            }
          });
        }
      }
    }
  }
}

TEST_CASE("norm_linear and the GEMM's norm prologue reject what does not fit", "[linear]") {
  Context<backend::cpu> cpu;
  Tensor<float, 2> x(Extents<2>{4, 8}, 1.0f), w(Extents<2>{5, 8}, 1.0f), y(Extents<2>{4, 5}, 1.0f);
  Tensor<float, 1> weight(Extents<1>{8}, 1.0f), weight_bad(Extents<1>{7}, 1.0f), bias(Extents<1>{8}, 0.0f);
  const auto norm = [&](config::Norm kind, const Tensor<float, 1>& wv, CView<float, 1> b, float eps) {
    return ops::Normalization{.kind = kind, .weight = wv.view(), .bias = b, .eps = eps};
  };
  REQUIRE_THROWS_WITH(
      ops::norm_linear(cpu, y.view(), x.view(), norm(config::Norm::rms_norm, weight_bad, {}, 1e-6f), w.view()),
      Catch::Contains("ops::norm_linear") && Catch::Contains("norm weight has shape [7], expected [8]"));
  REQUIRE_THROWS_WITH(
      ops::norm_linear(cpu, y.view(), x.view(), norm(config::Norm::layer_norm, weight, {}, 1e-6f), w.view()),
      Catch::Contains("ops::norm_linear") && Catch::Contains("norm bias has shape [0], expected [8]"));
  REQUIRE_THROWS_WITH(
      ops::norm_linear(cpu, y.view(), x.view(), norm(config::Norm::layer_norm, weight, bias.view(), -1.0f), w.view()),
      Catch::Contains("ops::norm_linear") && Catch::Contains("eps must be >= 0"));
  REQUIRE_THROWS_WITH(cpu::gemm(cpu.pool(), cpu.workspace(), y.view(), x.view(), w.view(), {}, cpu::Precision::f32,
                                cpu::active_isa(), false, {.norm_weight = weight_bad.view()}),
                      Catch::Contains("cpu::gemm") && Catch::Contains("norm weight has shape [7], expected [8]"));
}

TEST_CASE("cpu GELU epilogue matches the exact formula", "[linear]") {
  // y[m, n] = gelu(x[m] · 1) for 20001 values of x in [-10, 10] plus the edges of the erf ranges.
  std::vector<float> values;
  for (int i = -10000; i <= 10000; ++i) {
    values.push_back(static_cast<float>(i) * 1e-3f);
  }
  for (float v : {0.75f, 4.0f, 1e-30f, 60.0f, -60.0f, 1e4f, -1e4f}) {
    values.push_back(v * 1.41421356f);
  }
  const auto m = static_cast<index_t>(values.size());
  const CView<float, 2> x(values.data(), Extents<2>{m, 1});
  const Tensor<float, 2> w(Extents<2>{48, 1}, 1.0f);
  Tensor<float, 2> y(Extents<2>{m, 48});
  Context<backend::cpu> cpu;
  testing::for_each_cpu_isa([&](cpu::Isa) {
    testing::poison(y.view());
    ops::linear(cpu, y.view(), x, w.view(), {}, ops::Activation::gelu);
    double worst = 0.0;  // |error| / (|x|/2): the error of erf that the GELU inherits
    for (index_t i = 0; i < m; ++i) {
      const double v = values[static_cast<std::size_t>(i)];
      const double exact = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
      for (index_t j = 0; j < 48; j += 47) {
        const double error = std::abs(static_cast<double>(y(i, j)) - exact);
        // f32 rounding of the result itself is not the erf's fault
        worst = std::max(worst, std::max(0.0, error - 6e-8 * std::abs(exact)) / std::max(0.5 * std::abs(v), 1e-30));
      }
    }
    INFO("worst erf error " << worst);
    REQUIRE(worst < 2e-7);
  });
}

TEST_CASE("cpu feature detection agrees with the compiler's", "[linear]") {
#if defined(__clang__)
  WARN("clang's __builtin_cpu_supports lacks some of these feature names; compared under GCC only");
#else
  const cpu::CpuFeatures& f = cpu::cpu_features();
  CHECK(f.avx2 == (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")));
  CHECK(f.avx512 == (f.avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                     __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")));
  CHECK(f.avx512_bf16 == (f.avx512 && __builtin_cpu_supports("avx512bf16")));
  CHECK(f.amx_tile == static_cast<bool>(__builtin_cpu_supports("amx-tile")));
  CHECK(f.amx_bf16 == (f.amx_tile && __builtin_cpu_supports("amx-bf16")));
  CHECK((!f.amx || (f.amx_bf16 && f.avx512_bf16)));
#endif
}

TEST_CASE("each GEMM path has a kernel for every tile up to its own and none past it", "[linear]") {
  for (const cpu::packed::KernelSet* ks :
       {&cpu::packed::avx2::kKernels, &cpu::packed::avx512::kKernels, &cpu::packed::avx512_bf16::kKernels}) {
    INFO("tile " << ks->mr << " x " << ks->nr);
    REQUIRE(ks->tile_kernel == nullptr);
    for (int r = 0; r < cpu::packed::kMaxTileRows; ++r) {
      for (int v = 0; v < cpu::packed::kMaxTileVectors; ++v) {
        const bool inside = r < ks->mr && v < ks->nr / ks->lanes;
        REQUIRE((ks->kernels[r][v] != nullptr) == inside);
      }
    }
  }
  // The amx path has one kernel for every tile, and a tile configuration to load and release.
  const cpu::packed::KernelSet& amx = cpu::packed::amx::kKernels;
  REQUIRE((amx.tile_kernel != nullptr && amx.thread_begin != nullptr && amx.thread_end != nullptr));
  for (const auto& row : amx.kernels) {
    for (cpu::packed::MicroKernel kernel : row) {
      REQUIRE(kernel == nullptr);
    }
  }
}

TEST_CASE("INTERNVL_CPU_ISA picks the GEMM path and rejects bad values", "[linear]") {
  {
    const testing::ForcedIsa forced("sse2");
    REQUIRE_THROWS_WITH(cpu::reselect_isa(),
                        Catch::Contains("INTERNVL_CPU_ISA") && Catch::Contains("unknown value 'sse2'"));
  }
  for (cpu::Isa isa : cpu::kAllIsas) {
    const testing::ForcedIsa forced(cpu::isa_name(isa).data());
    if (testing::has_path(isa)) {
      REQUIRE(cpu::reselect_isa() == isa);
      REQUIRE(cpu::active_isa_name() == cpu::isa_name(isa));
    } else {
      REQUIRE_THROWS_WITH(cpu::reselect_isa(),
                          Catch::Contains("INTERNVL_CPU_ISA") && Catch::Contains("does not support"));
    }
  }
  const cpu::CpuFeatures& f = cpu::cpu_features();
  REQUIRE(cpu::active_isa() == (f.amx           ? cpu::Isa::amx
                                : f.avx512_bf16 ? cpu::Isa::avx512_bf16
                                : f.avx512      ? cpu::Isa::avx512
                                                : cpu::Isa::avx2));
}

TEST_CASE("cpu gemm cuts C into a balanced grid of blocks and gives the same bits on any number of threads",
          "[linear]") {
  // thread_grid: the columns split, and the rows too where whole column panels would leave the threads
  // unbalanced
  const cpu::packed::KernelSet& ks = cpu::packed::avx512::kKernels;  // 8 × 48 panels
  const auto grid = [&](index_t m_panels, index_t n_panels, index_t threads, bool packs_b) {
    const cpu::packed::ThreadGrid g = cpu::packed::thread_grid(ks, m_panels, n_panels, threads, packs_b);
    return std::pair{g.row_groups, g.column_groups};
  };
  CHECK(grid(129, 86, 1, true) == std::pair<index_t, index_t>{1, 1});
  CHECK(grid(129, 86, 2, true) == std::pair<index_t, index_t>{1, 2});    // 1025 × 4096: the columns halved
  CHECK(grid(129, 1, 2, true) == std::pair<index_t, index_t>{2, 1});     // one column panel: the rows
  CHECK(grid(129, 3, 2, true) == std::pair<index_t, index_t>{2, 1});     // 3 panels: the rows, not 2 + 1
  CHECK(grid(129, 22, 16, true) == std::pair<index_t, index_t>{2, 8});   // 1025 × 1024 on 16 threads
  CHECK(grid(33, 10, 7, true) == std::pair<index_t, index_t>{3, 2});     // 260 × 480 on 7 threads
  CHECK(grid(129, 22, 16, false) == std::pair<index_t, index_t>{8, 2});  // B prepacked: no packing per block
  CHECK(grid(1, 5, 16, true) == std::pair<index_t, index_t>{1, 5});      // never more blocks than panels

  // Every tile is the same kernel over the same K blocks whichever thread runs it, so the bits of C
  // cannot depend on the grid: 1 thread against 2 to 16, narrow and wide N, per call and prepacked
  // (on 7 threads 260 x 64 x 480 runs in 3 x 2 blocks); the last two shapes are InternViT-sized.
  const Extents<3> shapes[] = {{260, 64, 480}, {1025, 32, 144}, {70, 16, 5000}, {1025, 32, 1024}, {515, 40, 2000}};
  for (const Extents<3>& shape : testing::sized(shapes, 3)) {
    const index_t m = shape[0], k = shape[1], n = shape[2];  // not bindings: clang < 16 cannot capture those
    const auto a = testing::random_tensor(Extents<2>{m, k}, 31);
    const auto w = testing::random_tensor(Extents<2>{n, k}, 32, -0.1f, 0.1f);
    const auto bias = testing::random_tensor(Extents<1>{n}, 33);
    testing::for_each_cpu_isa([&](cpu::Isa isa) {
      for (cpu::Precision precision : {cpu::Precision::f32, cpu::Precision::bf16}) {
        for (const bool prepacked : {false, true}) {
          INFO("M " << m << " K " << k << " N " << n << " precision " << cpu::precision_name(precision) << " prepacked "
                    << prepacked);
          const auto product = [&](index_t threads) {
            ThreadPool pool(static_cast<int>(threads));
            Workspace<> ws;
            PackSlot slot;
            Tensor<float, 2> c(Extents<2>{m, n});
            cpu::gemm(pool, ws, c.view(), a.view(), WeightView<2>(w.view()).with_pack_slot(&slot),
                      {.bias = bias.view()}, precision, isa, prepacked);
            return c;
          };
          const Tensor<float, 2> want = product(1);
          for (const index_t threads : {2, 3, 5, 7, 16}) {
            INFO("threads " << threads);
            const Tensor<float, 2> got = product(threads);
            REQUIRE(std::memcmp(got.data(), want.data(), sizeof(float) * static_cast<std::size_t>(m * n)) == 0);
          }
        }
      }
    });
  }
}

TEST_CASE("cpu linear allocates nothing once its workspace has grown", "[linear]") {
  Context<backend::cpu> cpu;
  const auto x = testing::random_tensor(Extents<2>{257, 1024}, 1);
  const auto w = testing::convert<bf16>(testing::random_tensor(Extents<2>{1000, 1024}, 2));
  Tensor<float, 2> y(Extents<2>{257, 1000});
  ops::linear(cpu, y.view(), x.view(), w.view());
  const std::size_t after_first = cpu.workspace().allocation_count();
  for (int i = 0; i < 3; ++i) {
    ops::linear(cpu, y.view(), x.view(), w.view());
  }
  REQUIRE(cpu.workspace().allocation_count() == after_first);
}
