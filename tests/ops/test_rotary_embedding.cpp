// rotary_embedding: the reference against transformers' Llama rotary embedding (rotate-half, f32),
// the cpu backend against the reference over token counts, head counts and head dims (QLLaMA's 128,
// the grid's 64/200/256, awkward 2 and 6), on strided views into a packed projection and in place;
// argument errors.
#include <catch2/catch.hpp>

#include "grid.hpp"
#include "internvl/backend/cpu/rotary_embedding.hpp"
#include "internvl/backend/reference/rotary_embedding.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

std::string fixture(const std::string& name) { return testing::golden_path("ops/qllama/" + name + ".npy"); }

// The cpu result against the reference on x [B, S, H, Dh]: into a poisoned output and in place.
double cpu_error(const Tensor<float, 4>& x, const ops::RotaryOptions& options) {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  Tensor<float, 4> want(x.shape());
  ops::rotary_embedding(ref, want.view(), x.view(), options);
  Tensor<float, 4> got(x.shape());
  testing::poison(got.view());
  ops::rotary_embedding(cpu, got.view(), x.view(), options);
  Tensor<float, 4> in_place(x.shape());
  std::copy_n(x.data(), x.numel(), in_place.data());
  ops::rotary_embedding(cpu, in_place.view(), in_place.view(), options);
  return std::max(testing::relative_l2(got.view(), want.view()), testing::relative_l2(in_place.view(), want.view()));
}

}  // namespace

TEST_CASE("reference and cpu rotary_embedding match transformers", "[rotary_embedding]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  for (const auto& [name, first, base] :
       {std::tuple{"small", 0, 10000.0f}, std::tuple{"queries", 0, 10000.0f}, std::tuple{"far", 2040, 500000.0f}}) {
    INFO(name);
    const auto x = io::read_npy_f32<4>(fixture(std::string("rope_") + name + "_x"));
    const auto expected = io::read_npy_f32<4>(fixture(std::string("rope_") + name + "_y"));
    const ops::RotaryOptions options{.base = base, .first_position = first};
    Tensor<float, 4> y(x.shape());
    ops::rotary_embedding(ref, y.view(), x.view(), options);
    CHECK(testing::relative_l2(y.view(), expected.view()) < 1e-6);
    testing::poison(y.view());
    ops::rotary_embedding(cpu, y.view(), x.view(), options);
    CHECK(testing::relative_l2(y.view(), expected.view()) < 1e-6);
  }
}

TEST_CASE("cpu rotary_embedding matches the reference", "[rotary_embedding]") {
  for (index_t tokens : {1, 3, 17, 96, 257}) {
    for (index_t head_dim : {2, 6, 64, 128, 200, 256}) {
      const auto x = testing::random_tensor(Extents<4>{2, tokens, 3, head_dim},
                                            static_cast<std::uint64_t>(tokens * 1009 + head_dim), -3, 3);
      INFO("tokens " << tokens << " head dim " << head_dim);
      REQUIRE(cpu_error(x, {}) < 1e-6);
      REQUIRE(cpu_error(x, {.base = 500000.0f, .first_position = 1000}) < 1e-6);
    }
  }
  // QLLaMA's shape: 96 queries (or 80 text tokens) × 32 heads × 128.
  REQUIRE(cpu_error(testing::random_tensor(Extents<4>{2, 96, 32, 128}, 7), {}) < 1e-6);
}

TEST_CASE("cpu rotary_embedding rotates strided views of a packed projection", "[rotary_embedding]") {
  // q and k of a packed [B·S, 3·H·Dh] projection, seen as [B, S, H, Dh] with row stride 3·H·Dh.
  const index_t batch = 2, tokens = 5, heads = 4, head_dim = 8, width = heads * head_dim;
  auto packed = testing::random_tensor(Extents<2>{batch * tokens, 3 * width}, 11);
  const Extents<4> shape{batch, tokens, heads, head_dim};
  const Extents<4> strides{tokens * 3 * width, 3 * width, head_dim, 1};
  Tensor<float, 4> k_dense(shape);
  for (index_t b = 0; b < batch; ++b) {
    for (index_t s = 0; s < tokens; ++s) {
      std::copy_n(&packed(b * tokens + s, width), width, &k_dense(b, s, 0, 0));
    }
  }
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  Tensor<float, 4> want(shape);
  ops::rotary_embedding(ref, want.view(), k_dense.view(), {});
  const auto untouched = testing::copy_of(packed);
  View<float, 4> k(packed.data() + width, shape, strides);
  ops::rotary_embedding(cpu, k, CView<float, 4>(k), {});
  REQUIRE(testing::relative_l2(CView<float, 4>(k), want.view()) < 1e-6);
  for (index_t r = 0; r < batch * tokens; ++r) {  // q and v columns are left alone
    for (index_t c = 0; c < 3 * width; ++c) {
      if (c < width || c >= 2 * width) {
        REQUIRE(packed(r, c) == untouched(r, c));
      }
    }
  }
}

TEST_CASE("rotary_embedding rejects bad arguments", "[rotary_embedding]") {
  Context<backend::cpu> cpu;
  Tensor<float, 4> odd(Extents<4>{1, 2, 1, 5}, 1.0f);
  REQUIRE_THROWS_WITH(ops::rotary_embedding(cpu, odd.view(), odd.view(), {}),
                      Catch::Contains("ops::rotary_embedding") && Catch::Contains("head dim must be even"));
  Tensor<float, 4> x(Extents<4>{1, 2, 1, 4}, 1.0f);
  Tensor<float, 4> y(Extents<4>{1, 3, 1, 4});
  REQUIRE_THROWS_WITH(ops::rotary_embedding(cpu, y.view(), x.view(), {}), Catch::Contains("[1, 3, 1, 4]"));
  REQUIRE_THROWS_WITH(ops::rotary_embedding(cpu, x.view(), x.view(), {.first_position = -1}),
                      Catch::Contains("first_position must be >= 0"));
  REQUIRE_THROWS_WITH(ops::rotary_embedding(cpu, x.view(), x.view(), {.base = 0.0f}),
                      Catch::Contains("base must be positive"));
  View<float, 4> strided(x.data(), Extents<4>{1, 2, 1, 2}, Extents<4>{4, 2, 2, 2});
  REQUIRE_THROWS_WITH(ops::rotary_embedding(cpu, strided, CView<float, 4>(strided), {}),
                      Catch::Contains("unit stride"));
}
