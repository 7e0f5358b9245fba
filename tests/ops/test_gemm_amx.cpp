// The GEMM's amx path (gemm/kernel_amx.hpp). On every CPU with AVX512-BF16 its kernel set runs on
// emulated tiles (support/amx_emulator.hpp) through the same driver as the hardware's, against the
// reference on operands rounded to bf16, over awkward shapes (tile, K-block and N-block edges, odd K,
// K = 0), strided rows, batches, every weight dtype and epilogue (bias, GELU, the layer-scaled
// residual), and with B prepacked (bit for bit); with a norm prologue, 32-row panels normalized while
// packed give the bits of the same GEMM on rows normalized beforehand;
// the kernel in each of its tile schedules gives the default's bits, and any number of threads the bits of one.
// The emulator's TDPBF16PS is checked against the SDM's layout of a 16 × 32 by 32 × 16 product and,
// bit for bit, against results recorded on AMX hardware (tests/golden/ops/amx). On a CPU with AMX
// (Linux permission granted) the hardware tiles are checked against the emulator bit for bit, and
// test_linear, test_matmul and the model tests also run the amx path itself (for_each_cpu_isa).
#include <catch2/catch.hpp>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <vector>

#include "amx_emulator.hpp"
#include "grid.hpp"
#include "internvl/backend/cpu/gemm/gemm.hpp"
#include "internvl/backend/reference/linear.hpp"
#include "testing.hpp"

using namespace internvl;
namespace amx = cpu::packed::amx;

namespace {

bool can_pack() {
  if (!cpu::cpu_features().avx512_bf16) {
    WARN("this CPU lacks AVX512-BF16, which the amx path's packing uses: its kernel is not tested here");
    return false;
  }
  return true;
}

template <std::size_t Rank>
Tensor<float, Rank> rounded_to_bf16(const Tensor<float, Rank>& t) {
  return testing::convert<float>(testing::convert<bf16>(t));
}

template <class T>
TensorView<T, 3> as_batch(TensorView<T, 2> v) {
  return TensorView<T, 3>(v.data(), {1, v.size(0), v.size(1)}, {0, v.stride(0), v.stride(1)});
}

struct Case {
  index_t m, k, n;
  DType weights;
  bool bias, gelu, strided;
  bool residual = false;  // the layer-scaled residual epilogue: C += γ ⊙ (A·Bᵀ + bias), C holding x0
};

constexpr index_t kPad = 3;

// One case through the amx kernel set on emulated tiles, against the reference on rounded operands.
void check_emulated_against_reference(const Case& c, ThreadPool& pool) {
  INFO("M " << c.m << " K " << c.k << " N " << c.n << " weights " << name_of(c.weights) << " bias " << c.bias
            << " gelu " << c.gelu << " strided " << c.strided << " residual " << c.residual);
  const index_t pad = c.strided ? kPad : 0;
  const auto seed = static_cast<std::uint64_t>(c.m * 131 + c.k * 7 + c.n);
  const auto x_storage = testing::random_tensor(Extents<2>{c.m, c.k + pad}, seed, -2.0f, 2.0f);
  const auto w_f32 = testing::random_tensor(Extents<2>{c.n, c.k}, seed + 1, -0.1f, 0.1f);
  const auto bias = testing::random_tensor(Extents<1>{c.n}, seed + 2);
  const CView<float, 1> b = c.bias ? bias.view() : CView<float, 1>{};
  const ops::Activation act = c.gelu ? ops::Activation::gelu : ops::Activation::none;
  const auto residual = testing::random_tensor(Extents<2>{c.m, c.n}, seed + 3);
  const auto gamma = testing::random_tensor(Extents<1>{c.n}, seed + 4);
  const CView<float, 1> scale = c.residual ? gamma.view() : CView<float, 1>{};
  // y before the product: x0 for the residual epilogue, else NaN (nothing may be read)
  const auto start = [&](View<float, 2> y) {
    testing::poison(y);
    for (index_t i = 0; c.residual && i < c.m; ++i) {
      for (index_t j = 0; j < c.n; ++j) {
        y(i, j) = residual(i, j);
      }
    }
  };
  Tensor<float, 2> want(Extents<2>{c.m, c.n});
  Tensor<float, 2> y_storage(Extents<2>{c.m, c.n + pad});
  const View<float, 2> got = y_storage.view().slice(1, 0, c.n);
  Context<backend::reference> ref;
  Workspace<> ws;
  visit_dtype(c.weights, [&]<class W>(W) {
    const auto w = testing::convert<W>(w_f32);
    const auto x_rounded = rounded_to_bf16(x_storage);
    const auto w_rounded = rounded_to_bf16(testing::convert<float>(w));
    ops::linear(ref, want.view(), x_rounded.view().slice(1, 0, c.k), w_rounded.view(), b, act);
    for (index_t i = 0; c.residual && i < c.m; ++i) {
      for (index_t j = 0; j < c.n; ++j) {
        want(i, j) = residual(i, j) + gamma(j) * want(i, j);
      }
    }
    testing::poison(y_storage.view());
    start(got);
    const CView<W, 2> w_view = w.view();
    const cpu::packed::KernelSet ks = amx::kernel_set<testing::EmulatedTiles>();
    const auto run = [&](View<float, 2> y, const std::byte* prepacked) {
      cpu::packed::gemm_with(ks, pool, ws, as_batch(y), as_batch(x_storage.view().slice(1, 0, c.k)),
                             WeightView<3>(as_batch(w_view)), {.bias = b, .scale = scale, .gelu = c.gelu}, prepacked);
    };
    run(got, nullptr);
    // B packed once for the kernel set (gemm/prepack.hpp): the same bytes, the same bits.
    Tensor<float, 2> again(Extents<2>{c.m, c.n});
    start(again.view());
    const auto panels = c.k > 0 ? cpu::packed::prepack(ks, pool, WeightView<2>(w_view)) : nullptr;
    run(again.view(), panels.get());
    bool same = true;
    for (index_t i = 0; i < c.m; ++i) {
      for (index_t j = 0; j < c.n; ++j) {
        same = same && std::bit_cast<std::uint32_t>(again(i, j)) == std::bit_cast<std::uint32_t>(got(i, j));
      }
    }
    REQUIRE(same);
  });
  // products of bf16 values are exact in f32: only the order of the additions differs
  REQUIRE(testing::relative_l2(got, want.view()) < 1e-5);
  bool padding_untouched = true;
  for_each_element(y_storage.view().slice(1, c.n, c.n + pad),
                   [&](float v) { padding_untouched = padding_untouched && std::isnan(v); });
  REQUIRE(padding_untouched);
}

// A bf16 value drawn from [-2, 2), now and then a denormal or a zero.
std::uint16_t random_bf16(std::uint64_t& state) {
  state = state * 6364136223846793005ull + 1442695040888963407ull;
  const auto r = static_cast<std::uint32_t>(state >> 33);
  if (r % 17 == 0) {
    return static_cast<std::uint16_t>(0x0001u + (r >> 8) % 0x7Fu);  // denormal
  }
  if (r % 19 == 0) {
    return 0;
  }
  return float_to_bf16_bits(static_cast<float>(r % 40001) / 10000.0f - 2.0f);
}

}  // namespace

TEST_CASE("emulated TDPBF16PS is the SDM's 16 x 32 by 32 x 16 product with k in pairs", "[gemm_amx]") {
  // Logical A [16][32] and B [32][16]; A-tile row m holds A[m][0..31], B-tile row k holds the pairs
  // (B[2k][n], B[2k+1][n]) for n < 16.
  std::uint64_t state = 7;
  std::uint16_t a[16][32], b[32][16];
  for (auto& row : a) {
    for (auto& v : row) {
      v = random_bf16(state);
    }
  }
  for (auto& row : b) {
    for (auto& v : row) {
      v = random_bf16(state);
    }
  }
  std::uint16_t b_tile[16][32];
  for (int k = 0; k < 16; ++k) {
    for (int n = 0; n < 16; ++n) {
      b_tile[k][2 * n] = b[2 * k][n];
      b_tile[k][2 * n + 1] = b[2 * k + 1][n];
    }
  }
  const auto value = [](std::uint16_t bits) {
    const float v = bf16_bits_to_float(bits);
    return std::fpclassify(v) == FP_SUBNORMAL ? 0.0f : v;
  };
  using Tiles = testing::EmulatedTiles;
  Tiles::configure();
  Tiles::zero_c<0, 0>();
  Tiles::load_a<0>(a, 64);
  Tiles::load_b<0>(b_tile, 64);
  Tiles::multiply_add<0, 0>();
  Tiles::multiply_add<0, 0>();  // twice: accumulates
  float c[16][16];
  Tiles::store_c<0, 0>(c, 64);
  Tiles::release();
  for (int m = 0; m < 16; ++m) {
    for (int n = 0; n < 16; ++n) {
      double exact = 0.0;
      for (int k = 0; k < 32; ++k) {
        exact += static_cast<double>(value(a[m][k])) * value(b[k][n]);
      }
      INFO("C[" << m << "][" << n << "]");
      REQUIRE(c[m][n] == Approx(2.0 * exact).margin(1e-5));
    }
  }
  SECTION("denormal inputs read as zero, denormal results are flushed") {
    std::uint16_t tiny_a[16][32] = {}, tiny_b[16][32] = {};
    tiny_a[0][0] = 0x0080;  // 2^-126, the smallest normal bf16
    tiny_b[0][0] = 0x3F00;  // 0.5: the exact product 2^-127 is denormal
    tiny_a[1][0] = 0x0001;  // a denormal times 1
    tiny_b[0][2] = 0x3F80;
    Tiles::configure();
    Tiles::zero_c<0, 0>();
    Tiles::load_a<0>(tiny_a, 64);
    Tiles::load_b<0>(tiny_b, 64);
    Tiles::multiply_add<0, 0>();
    float out[16][16];
    Tiles::store_c<0, 0>(out, 64);
    Tiles::release();
    REQUIRE(std::bit_cast<std::uint32_t>(out[0][0]) == 0u);
    REQUIRE(std::bit_cast<std::uint32_t>(out[1][1]) == 0u);
  }
  SECTION("a tile instruction without a configuration is refused") {
    REQUIRE_THROWS_WITH((Tiles::zero_c<0, 0>()), Catch::Contains("before LDTILECFG"));
  }
}

// One TDPBF16PS on full tiles as recorded on an AMX CPU by tests/golden/ops/amx/record_tdpbf16ps.cpp.
struct RecordedProduct {
  std::uint16_t a[16][32], b[16][32];
  float c_in[16][16], c_out[16][16];
};
static_assert(sizeof(RecordedProduct) == 4096);

TEST_CASE("emulated TDPBF16PS reproduces the hardware's results bit for bit", "[gemm_amx]") {
  // 40 recorded products: moderate values with denormals and zeros, wide exponents with cancellation,
  // and sparse operands where the order of the additions decides the last bit.
  const std::string path = testing::golden_path("ops/amx/tdpbf16ps.bin");
  std::ifstream file(path, std::ios::binary);
  REQUIRE(file.good());
  std::vector<RecordedProduct> records;
  for (RecordedProduct r; file.read(reinterpret_cast<char*>(&r), sizeof(r));) {
    records.push_back(r);
  }
  REQUIRE(records.size() == 40);
  using Tiles = testing::EmulatedTiles;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const RecordedProduct& r = records[i];
    Tiles::configure();
    Tiles::load_c<0, 0>(r.c_in, 64);
    Tiles::load_a<0>(r.a, 64);
    Tiles::load_b<0>(r.b, 64);
    Tiles::multiply_add<0, 0>();
    float c[16][16];
    Tiles::store_c<0, 0>(c, 64);
    Tiles::release();
    int differing = 0;
    for (int m = 0; m < 16; ++m) {
      for (int n = 0; n < 16; ++n) {
        differing += std::bit_cast<std::uint32_t>(c[m][n]) != std::bit_cast<std::uint32_t>(r.c_out[m][n]);
      }
    }
    INFO("record " << i << " of " << path);
    REQUIRE(differing == 0);
  }
}

TEST_CASE("the amx GEMM path matches the reference on emulated tiles", "[gemm_amx]") {
  if (!can_pack()) {
    return;
  }
  // Tiles are 32 × 32 (two 16-row by two 16-column accumulator tiles), K blocks kc, N blocks nc.
  const index_t kc = amx::kernel_set<testing::EmulatedTiles>().kc;
  const index_t nc = amx::kernel_set<testing::EmulatedTiles>().nc;
  const Extents<3> shapes[] = {{1, 1, 1},         {3, 17, 5},           {16, 32, 16},      {17, 33, 17},
                               {32, 64, 32},      {33, 31, 47},         {5, 0, 7},         {31, kc - 1, 33},
                               {48, kc + 1, 15},  {65, 2 * kc + 40, 97}, {4, 13, nc + 51}, {100, 7, 3},
                               {2, 3 * kc - 5, 40}, {257, 96, 80}};
  ThreadPool pool(2);
  for (const auto& [m, k, n] : shapes) {
    for (DType weights : {DType::f32, DType::bf16, DType::f16}) {
      for (const auto& [bias, gelu] : {std::pair{false, false}, std::pair{true, false}, std::pair{true, true}}) {
        check_emulated_against_reference({m, k, n, weights, bias, gelu, (m + k + n) % 2 == 1}, pool);
      }
      check_emulated_against_reference({m, k, n, weights, true, false, (m + k + n) % 2 == 0, true}, pool);
    }
  }
}

TEST_CASE("every amx tile schedule computes the default schedule's bits (emulated tiles)", "[gemm_amx]") {
  if (!can_pack()) {
    return;
  }
  // The schedules issue the same products per accumulator tile in the same order, only the loads move:
  // a load issued too early (before the last product that reads the register) or too late changes bits.
  const index_t kc = amx::kernel_set<testing::EmulatedTiles>().kc;
  const Extents<3> shapes[] = {{32, 64, 32}, {17, 33, 17}, {33, 31, 47}, {16, 96, 40}, {40, 2 * kc + 40, 16},
                               {65, kc + 1, 97}, {5, 0, 7}};
  ThreadPool pool(2);
  Workspace<> ws;
  for (const Extents<3>& shape : shapes) {
    const index_t m = shape[0], k = shape[1], n = shape[2];  // not bindings: clang < 16 cannot capture those
    INFO("M " << m << " K " << k << " N " << n);
    const auto a = testing::random_tensor(Extents<3>{1, m, k}, 21);
    const auto b = testing::random_tensor(Extents<3>{1, n, k}, 22);
    const auto bias = testing::random_tensor(Extents<1>{n}, 23);
    const auto run = [&](const cpu::packed::KernelSet& ks) {
      Tensor<float, 3> c(Extents<3>{1, m, n});
      testing::poison(c.view());
      cpu::packed::gemm_with(ks, pool, ws, c.view(), a.view(), WeightView<3>(b.view()),
                             {.bias = bias.view(), .gelu = true});
      return c;
    };
    const auto want = run(amx::kernel_set<testing::EmulatedTiles>());
    for (const auto& [name, ks] :
         {std::pair{"loads_first", amx::kernel_set<testing::EmulatedTiles, amx::TileSchedule::loads_first>()},
          std::pair{"interleaved", amx::kernel_set<testing::EmulatedTiles, amx::TileSchedule::interleaved>()},
          std::pair{"pipelined", amx::kernel_set<testing::EmulatedTiles, amx::TileSchedule::pipelined>()}}) {
      INFO("schedule " << name);
      const auto got = run(ks);
      index_t differing = 0;
      for (index_t i = 0; i < m * n; ++i) {
        differing += std::bit_cast<std::uint32_t>(got.data()[i]) != std::bit_cast<std::uint32_t>(want.data()[i]);
      }
      REQUIRE(differing == 0);
    }
  }
}

TEST_CASE("the amx GEMM path normalizes A's rows as it packs them (emulated tiles)", "[gemm_amx]") {
  // The norm prologue (gemm.hpp's GemmPrologue) normalizes each 32-row panel into a scratch of
  // 32 × K floats before packing it: the same bits as normalizing the rows first (row_norm.hpp, the
  // cpu norms' arithmetic) and multiplying those, over K blocks, edge panels and both threads' panels.
  if (!can_pack()) {
    return;
  }
  const index_t kc = amx::kernel_set<testing::EmulatedTiles>().kc;
  ThreadPool pool(2);
  Workspace<> ws;
  const cpu::packed::KernelSet ks = amx::kernel_set<testing::EmulatedTiles>();
  for (const Extents<3>& shape : {Extents<3>{33, 70, 40}, Extents<3>{100, 13, 17}, Extents<3>{65, kc + 40, 36}}) {
    const index_t m = shape[0], k = shape[1], n = shape[2];
    const auto x = testing::random_tensor(Extents<2>{m, k}, 31, -2.0f, 2.0f);
    const auto w = testing::random_tensor(Extents<2>{n, k}, 32, -0.1f, 0.1f);
    const auto bias = testing::random_tensor(Extents<1>{n}, 33);
    const auto norm_weight = testing::random_tensor(Extents<1>{k}, 34, 0.5f, 1.5f);
    const auto norm_bias = testing::random_tensor(Extents<1>{k}, 35);
    for (const bool layer_norm : {false, true}) {
      INFO("M " << m << " K " << k << " N " << n << (layer_norm ? " LayerNorm" : " RMSNorm"));
      const cpu::GemmPrologue prologue{.layer_norm = layer_norm,
                                       .norm_weight = norm_weight.view(),
                                       .norm_bias = layer_norm ? norm_bias.view() : CView<float, 1>{},
                                       .eps = 1e-6f};
      const cpu::RowNorm row_norm{.layer_norm = layer_norm,
                                  .weight = norm_weight.data(),
                                  .bias = layer_norm ? norm_bias.data() : nullptr,
                                  .eps = 1e-6f};
      Tensor<float, 2> normed(Extents<2>{m, k});
      for (index_t i = 0; i < m; ++i) {
        cpu::normalize_row(row_norm, &normed(i, 0), &x(i, 0), k);
      }
      Tensor<float, 2> want(Extents<2>{m, n}), got(Extents<2>{m, n});
      cpu::packed::gemm_with(ks, pool, ws, as_batch(want.view()), as_batch(normed.view()),
                             WeightView<3>(as_batch(w.view())), {.bias = bias.view()});
      testing::poison(got.view());
      cpu::packed::gemm_with(ks, pool, ws, as_batch(got.view()), as_batch(x.view()), WeightView<3>(as_batch(w.view())),
                             {.bias = bias.view()}, nullptr, prologue);
      REQUIRE(std::memcmp(got.data(), want.data(), sizeof(float) * static_cast<std::size_t>(m * n)) == 0);
    }
  }
}

TEST_CASE("the amx GEMM path runs batches on emulated tiles", "[gemm_amx]") {
  if (!can_pack()) {
    return;
  }
  // 3 matrices over 2 threads: every thread on each matrix; 4: one matrix per thread.
  ThreadPool pool(2);
  Workspace<> ws;
  Context<backend::reference> ref;
  for (index_t batch : {3, 4}) {
    INFO("batch " << batch);
    const index_t m = 40, k = 70, n = 36;
    const auto a = rounded_to_bf16(testing::random_tensor(Extents<3>{batch, m, k}, 11 + batch));
    const auto b = rounded_to_bf16(testing::random_tensor(Extents<3>{batch, n, k}, 12 + batch));
    Tensor<float, 3> c(Extents<3>{batch, m, n});
    testing::poison(c.view());
    cpu::packed::gemm_with(amx::kernel_set<testing::EmulatedTiles>(), pool, ws, c.view(), a.view(),
                           WeightView<3>(b.view()), {});
    for (index_t i = 0; i < batch; ++i) {
      Tensor<float, 2> want(Extents<2>{m, n});
      ops::linear(ref, want.view(), a.view()[i], b.view()[i]);
      REQUIRE(testing::relative_l2(c.view()[i], want.view()) < 1e-5);
    }
  }
}

TEST_CASE("the amx GEMM path gives the same bits on any number of threads (emulated tiles)", "[gemm_amx]") {
  if (!can_pack()) {
    return;
  }
  // The threads' grid of C blocks (gemm.hpp's thread_grid) on 32 × 32 tiles: 260 × 64 × 480 (9 × 15
  // panels) runs in 2 × 3 blocks on 7 threads and in column ranges on 3; every tile is the same kernel
  // over the same K blocks whichever thread runs it.
  const index_t m = 260, k = 64, n = 480;
  REQUIRE(cpu::packed::thread_grid(amx::kernel_set<testing::EmulatedTiles>(), 9, 15, 7, true).row_groups == 2);
  const auto a = testing::random_tensor(Extents<3>{1, m, k}, 51);
  const auto b = testing::random_tensor(Extents<3>{1, n, k}, 52);
  const auto bias = testing::random_tensor(Extents<1>{n}, 53);
  const auto product = [&](int threads) {
    ThreadPool pool(threads);
    Workspace<> ws;
    Tensor<float, 3> c(Extents<3>{1, m, n});
    testing::poison(c.view());
    cpu::packed::gemm_with(amx::kernel_set<testing::EmulatedTiles>(), pool, ws, c.view(), a.view(),
                           WeightView<3>(b.view()), {.bias = bias.view(), .gelu = true});
    return c;
  };
  const Tensor<float, 3> want = product(1);
  for (const int threads : {3, 7}) {
    INFO(threads << " threads");
    const Tensor<float, 3> got = product(threads);
    REQUIRE(std::memcmp(got.data(), want.data(), sizeof(float) * static_cast<std::size_t>(m * n)) == 0);
  }
}

TEST_CASE("hardware AMX tiles agree with the emulator bit for bit", "[gemm_amx]") {
  if (!cpu::cpu_features().amx) {
    WARN("this CPU (or its OS) offers no AMX-BF16 tiles: the hardware path is not tested here");
    return;
  }
  std::uint64_t state = 3;
  alignas(64) std::uint16_t a[2][16][32], b[2][16][32];
  for (auto* tile : {&a, &b}) {
    for (auto& half : *tile) {
      for (auto& row : half) {
        for (auto& v : row) {
          v = random_bf16(state);
        }
      }
    }
  }
  // Two products into each of the four accumulator tiles: A(r) · B(c) twice, with different data.
  const auto run = []<class Tiles>(Tiles, const auto& a_data, const auto& b_data, float (&out)[4][16][16]) {
    Tiles::configure();
    Tiles::template zero_c<0, 0>();
    Tiles::template zero_c<0, 1>();
    Tiles::template zero_c<1, 0>();
    Tiles::template zero_c<1, 1>();
    for (int step = 0; step < 2; ++step) {
      Tiles::template load_a<0>(a_data[step], 64);
      Tiles::template load_a<1>(a_data[1 - step], 64);
      Tiles::template load_b<0>(b_data[step], 64);
      Tiles::template load_b<1>(b_data[1 - step], 64);
      Tiles::template multiply_add<0, 0>();
      Tiles::template multiply_add<0, 1>();
      Tiles::template multiply_add<1, 0>();
      Tiles::template multiply_add<1, 1>();
    }
    Tiles::template store_c<0, 0>(out[0], 64);
    Tiles::template store_c<0, 1>(out[1], 64);
    Tiles::template store_c<1, 0>(out[2], 64);
    Tiles::template store_c<1, 1>(out[3], 64);
    Tiles::release();
  };
  float hardware[4][16][16], emulated[4][16][16];
  run(amx::HardwareTiles{}, a, b, hardware);
  run(testing::EmulatedTiles{}, a, b, emulated);
  REQUIRE(std::memcmp(hardware, emulated, sizeof(hardware)) == 0);
}
