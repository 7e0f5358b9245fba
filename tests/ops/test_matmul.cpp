// matmul: the reference against PyTorch's torch.matmul(a, bᵀ) for f32, bf16 and f16 operands b; the
// cpu backend (the batched packed GEMM) against the reference on every ISA path this machine has,
// for batches split by matrix and inside each matrix, strided views into a packed QKV projection,
// and awkward sizes, in f32 and in bf16 precision; shape errors.
#include <catch2/catch.hpp>
#include <string>

#include "cpu_isa.hpp"
#include "internvl/backend/cpu/matmul.hpp"
#include "internvl/backend/reference/matmul.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

template <class W>
void check_reference_against_torch(const std::string& dtype) {
  const auto a = io::read_npy_f32<3>(testing::golden_path("ops/core/matmul_a.npy"));
  const auto b = testing::convert<W>(io::read_npy_f32<3>(testing::golden_path("ops/core/matmul_b_" + dtype + ".npy")));
  const auto expected = io::read_npy_f32<3>(testing::golden_path("ops/core/matmul_c_" + dtype + ".npy"));
  Context<backend::reference> ctx;
  Tensor<float, 3> c(expected.shape());
  ops::matmul(ctx, c.view(), a.view(), b.view());
  INFO("b stored as " << dtype);
  REQUIRE(testing::relative_l2(c.view(), expected.view()) < 1e-6);
}

// c = a · bᵀ on both backends, compared; c is poisoned first. f32 precision on the cpu backend.
void check_cpu_against_reference(CView<float, 3> a, const WeightView<3>& b) {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  Tensor<float, 3> want(Extents<3>{a.size(0), a.size(1), b.size(1)});
  Tensor<float, 3> got(want.shape());
  testing::poison(got.view());
  ops::matmul(ref, want.view(), a, b);
  ops::matmul(cpu, got.view(), a, b);
  INFO("a " << shape_string(a) << " b " << shape_string(b) << " " << name_of(b.dtype()));
  REQUIRE(testing::relative_l2(got.view(), want.view()) < 1e-6);
}

// A copy of a dense tensor rounded to bf16 and widened back.
Tensor<float, 3> rounded_to_bf16(const Tensor<float, 3>& t) {
  return testing::convert<float>(testing::convert<bf16>(t));
}

}  // namespace

TEST_CASE("reference matmul matches PyTorch", "[matmul]") {
  check_reference_against_torch<float>("f32");
  check_reference_against_torch<bf16>("bf16");
  check_reference_against_torch<f16>("f16");
}

TEST_CASE("cpu matmul matches the reference", "[matmul]") {
  // Batches of 1 and 3 (split inside each matrix on two threads), 2 and 16 (split by matrix);
  // attention-score shapes (257 tokens, head dim 64) and awkward ones.
  const index_t shapes[][4] = {{1, 1, 1, 1},      {3, 17, 33, 5},    {2, 9, 257, 49}, {16, 3, 7, 2},
                               {1, 257, 64, 257}, {3, 100, 300, 70}, {16, 33, 64, 65}};
  testing::for_each_cpu_isa([&](cpu::Isa) {
    for (const auto& [batch, m, k, n] : shapes) {
      const auto a = testing::random_tensor(Extents<3>{batch, m, k}, static_cast<std::uint64_t>(batch * m + k));
      const auto b = testing::random_tensor(Extents<3>{batch, n, k}, static_cast<std::uint64_t>(n * k + 1));
      check_cpu_against_reference(a.view(), b.view());
      check_cpu_against_reference(a.view(), testing::convert<bf16>(b).view());
      check_cpu_against_reference(a.view(), testing::convert<f16>(b).view());
    }
  });
}

TEST_CASE("cpu matmul in bf16 precision multiplies operands rounded to bf16", "[matmul]") {
  // Where the bf16 kernels run: the reference on rounded operands (bf16 products are exact in f32,
  // so only the order of the additions differs); elsewhere the exact f32 product.
  const index_t shapes[][4] = {{3, 17, 33, 5}, {16, 33, 64, 65}, {1, 257, 64, 257}};
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  cpu.set_matmul_precision(cpu::Precision::bf16);
  for (const auto& shape : shapes) {
    // Not structured bindings: clang < 16 cannot capture those.
    const index_t batch = shape[0], m = shape[1], k = shape[2], n = shape[3];
    const auto a = testing::random_tensor(Extents<3>{batch, m, k}, static_cast<std::uint64_t>(batch * m + k));
    const auto b = testing::random_tensor(Extents<3>{batch, n, k}, static_cast<std::uint64_t>(n * k + 1));
    Tensor<float, 3> exact(Extents<3>{batch, m, n}), rounded(exact.shape()), got(exact.shape());
    ops::matmul(ref, exact.view(), a.view(), b.view());
    ops::matmul(ref, rounded.view(), rounded_to_bf16(a).view(), rounded_to_bf16(b).view());
    testing::for_each_cpu_isa([&](cpu::Isa isa) {
      testing::poison(got.view());
      ops::matmul(cpu, got.view(), a.view(), b.view());
      INFO("batch " << batch << " m " << m << " k " << k << " n " << n);
      if (cpu::bf16_products(isa, cpu::Precision::bf16)) {
        REQUIRE(testing::relative_l2(got.view(), rounded.view()) < 1e-5);
      } else {
        REQUIRE(testing::relative_l2(got.view(), exact.view()) < 1e-6);
      }
    });
  }
}

TEST_CASE("cpu matmul reads strided views into a packed QKV projection", "[matmul]") {
  // qkv [tokens, 3, heads, head_dim]: q and k of each head are strided views; scores = q · kᵀ.
  const index_t tokens = 257, heads = 4, head_dim = 64;
  const auto qkv = testing::random_tensor(Extents<4>{tokens, 3, heads, head_dim}, 7);
  const auto per_head = [&](index_t which) {
    const float* base = qkv.data() + which * heads * head_dim;
    return CView<float, 3>(base, {heads, tokens, head_dim}, {head_dim, 3 * heads * head_dim, 1});
  };
  testing::for_each_cpu_isa([&](cpu::Isa) { check_cpu_against_reference(per_head(0), per_head(1)); });
}

TEST_CASE("matmul rejects mismatched shapes", "[matmul]") {
  Context<backend::cpu> cpu;
  Tensor<float, 3> a(Extents<3>{2, 4, 8}, 1.0f);
  Tensor<float, 3> b_depth(Extents<3>{2, 5, 9}, 1.0f);
  Tensor<float, 3> b_batch(Extents<3>{3, 5, 8}, 1.0f);
  Tensor<float, 3> b(Extents<3>{2, 5, 8}, 1.0f);
  Tensor<float, 3> c(Extents<3>{2, 4, 5});
  Tensor<float, 3> c_bad(Extents<3>{2, 5, 4});
  REQUIRE_THROWS_WITH(ops::matmul(cpu, c.view(), a.view(), b_depth.view()),
                      Catch::Contains("ops::matmul") && Catch::Contains("[2, 5, 9]"));
  REQUIRE_THROWS_WITH(ops::matmul(cpu, c.view(), a.view(), b_batch.view()),
                      Catch::Contains("disagree on the batch or the inner dimension"));
  REQUIRE_THROWS_WITH(ops::matmul(cpu, c_bad.view(), a.view(), b.view()),
                      Catch::Contains("c has shape [2, 5, 4], expected [2, 4, 5]"));
  const CView<float, 3> a_strided(a.data(), {2, 4, 4}, {32, 8, 2});
  Tensor<float, 3> b4(Extents<3>{2, 5, 4}, 1.0f);
  REQUIRE_THROWS_WITH(ops::matmul(cpu, c.view(), a_strided, b4.view()), Catch::Contains("a must have unit stride"));
}
