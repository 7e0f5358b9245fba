// QLLaMA's own ops on CUDA against backend::reference: rotary_embedding (q and k as strided views into
// one packed QKV projection, out of place and in place, positions far from 0, head dims 2 to 512),
// embedding (tables stored in f32, bf16 and f16, ids from the whole vocabulary, a strided output, a table whose
// row pitch is wider than its rows),
// swiglu (QLLaMA's 11008-wide MLP rows, awkward widths, in place) and copy (values of a packed
// projection into positions of a key/value cache: exact, nothing else written; between element types,
// each value rounded to nearest even as the host's conversions round it, bit for bit). Relative L2
// tolerances: f32 1e-5, bf16 1e-2, f16 5e-3 (inputs are rounded to the element type first, so only the output rounding
// and the f32 arithmetic differ); a lookup that converts nothing is exact. Outputs are poisoned with NaN first.
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <tuple>

#include "cuda_testing.hpp"
#include "oracle.hpp"

using namespace internvl;
namespace gpu = internvl::cuda;

namespace {

// RoPE of q (part 0 of a packed [B, S, 3, H, Dh] buffer) into a poisoned dense tensor, then of k (part 1)
// in place; v (part 2) and q must be left as they were.
template <class T>
void check_rotary(Context<backend::cuda>& ctx, index_t batch, index_t tokens, index_t heads, index_t head_dim,
                  index_t first_position, std::uint64_t seed) {
  const Extents<5> packed{batch, tokens, 3, heads, head_dim};
  const auto host = testing::rounded_to<T>(testing::random_tensor(packed, seed, -3.0f, 3.0f));
  const Extents<4> shape{batch, tokens, heads, head_dim};
  const Extents<4> strides{tokens * 3 * heads * head_dim, 3 * heads * head_dim, head_dim, 1};
  const index_t part = heads * head_dim;
  const ops::RotaryOptions options{.base = 10000.0f, .first_position = first_position};
  INFO(testing::type_name<T>() << " B " << batch << " S " << tokens << " H " << heads << " Dh " << head_dim
                               << " first position " << first_position);

  auto device = testing::to_device<T>(ctx, host);
  auto q_out = testing::poisoned<T>(ctx, shape);
  ops::rotary_embedding(ctx, q_out.view(), CView<T, 4>(device.data(), shape, strides), options);
  const auto want_q = testing::reference_rotary_embedding(CView<float, 4>(host.data(), shape, strides), options);
  const double err_q = testing::relative_l2(testing::to_host(ctx, q_out).view(), want_q.view());
  INFO("q out of place: relative L2 " << err_q);
  CHECK(err_q < testing::tolerance<T>());

  const View<T, 4> k(device.data() + part, shape, strides);
  ops::rotary_embedding(ctx, k, CView<T, 4>(k), options);
  const Tensor<float, 5> after = testing::to_host(ctx, device);
  const auto want_k = testing::reference_rotary_embedding(CView<float, 4>(host.data() + part, shape, strides), options);
  const double err_k = testing::relative_l2(CView<float, 4>(after.data() + part, shape, strides), want_k.view());
  INFO("k in place: relative L2 " << err_k);
  CHECK(err_k < testing::tolerance<T>());
  for (const index_t untouched : {index_t{0}, 2 * part}) {
    CHECK(testing::relative_l2(CView<float, 4>(after.data() + untouched, shape, strides),
                               CView<float, 4>(host.data() + untouched, shape, strides)) == 0.0);
  }
}

// Token ids spread over [0, vocabulary), the first and last ids included.
Tensor<std::int32_t, 1> random_ids(index_t count, index_t vocabulary, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  Tensor<std::int32_t, 1> ids(Extents<1>{count});
  for (index_t n = 0; n < count; ++n) {
    ids(n) = static_cast<std::int32_t>(gen() % static_cast<std::uint64_t>(vocabulary));
  }
  ids(0) = 0;
  ids(count - 1) = static_cast<std::int32_t>(vocabulary - 1);
  return ids;
}

// Looks up ids in a table stored as W, into T rows of a wider poisoned buffer (a strided output).
template <class T, class W>
void check_embedding(Context<backend::cuda>& ctx, index_t vocabulary, index_t width, index_t count,
                     std::uint64_t seed) {
  const auto table = testing::rounded_to<W>(testing::random_tensor(Extents<2>{vocabulary, width}, seed, -2.0f, 2.0f));
  const Tensor<W, 2> stored = testing::convert<W>(table);
  const auto device_table = gpu::upload(ctx, stored.view());
  const Tensor<std::int32_t, 1> ids = random_ids(count, vocabulary, seed + 1);
  auto buffer = testing::poisoned<T>(ctx, Extents<2>{count, width + 3});
  const View<T, 2> out = buffer.view().slice(1, 0, width);
  ops::embedding(ctx, out, ids.view(), WeightView<2>(CView<W, 2>(device_table.view())));
  const Tensor<float, 2> got = testing::to_host(ctx, buffer);
  const auto want = testing::reference_embedding(ids.view(), WeightView<2>(CView<W, 2>(stored.view())));
  const double err = testing::relative_l2(CView<float, 2>(got.view()).slice(1, 0, width), want.view());
  INFO(testing::type_name<T>() << " rows from a " << testing::type_name<W>() << " table [" << vocabulary << ", "
                               << width << "], " << count << " ids: relative L2 " << err);
  if constexpr (std::is_same_v<T, W> || std::is_same_v<T, float>) {
    CHECK(err == 0.0);  // nothing is rounded on the way
  } else {
    CHECK(err < testing::tolerance<T>());
  }
}

}  // namespace

TEMPLATE_TEST_CASE("cuda rotary_embedding matches the reference", "[cuda][qllama]", float, bf16, f16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 700;
  check_rotary<TestType>(ctx, 1, 96, 32, 128, 0, ++seed);   // QLLaMA's 96 queries
  check_rotary<TestType>(ctx, 3, 80, 32, 128, 0, ++seed);   // three texts of 80 tokens
  check_rotary<TestType>(ctx, 1, 1, 1, 2, 0, ++seed);       // the smallest head
  check_rotary<TestType>(ctx, 2, 17, 3, 6, 5, ++seed);      // odd sizes, shifted positions
  check_rotary<TestType>(ctx, 1, 7, 2, 200, 2040, ++seed);  // large angles
  check_rotary<TestType>(ctx, 1, 5, 1, 512, 0, ++seed);     // the widest head the kernel takes
}

TEST_CASE("cuda rotary_embedding refuses heads wider than 512 and host memory", "[cuda][qllama]") {
  Context<backend::cuda> ctx;
  gpu::DeviceTensor<bf16, 4> wide(Extents<4>{1, 2, 1, 514});
  REQUIRE_THROWS_WITH(ops::rotary_embedding(ctx, wide.view(), CView<bf16, 4>(wide.view())),
                      Catch::Contains("ops::rotary_embedding") && Catch::Contains("head dim 514"));
  gpu::DeviceTensor<bf16, 4> x(Extents<4>{1, 2, 1, 8});
  Tensor<bf16, 4> host(Extents<4>{1, 2, 1, 8}, bf16(0.0f));
  REQUIRE_THROWS_WITH(ops::rotary_embedding(ctx, x.view(), CView<bf16, 4>(host.view())),
                      Catch::Contains("x must point to device memory"));
}

TEMPLATE_TEST_CASE("cuda embedding matches the reference for every table dtype", "[cuda][qllama]", float, bf16, f16) {
  Context<backend::cuda> ctx;
  for (const auto& [vocabulary, width, count] : std::initializer_list<std::tuple<index_t, index_t, index_t>>{
           {49954, 64, 300}, {1000, 4096, 96}, {7, 3, 1}, {5, 17, 40}}) {
    check_embedding<TestType, float>(ctx, vocabulary, width, count, 800);
    check_embedding<TestType, bf16>(ctx, vocabulary, width, count, 810);
    check_embedding<TestType, f16>(ctx, vocabulary, width, count, 820);
  }
}

TEMPLATE_TEST_CASE("cuda embedding gathers rows of a table whose row pitch is wider than its rows", "[cuda][qllama]",
                   float, bf16) {
  // As QLLaMA's key/value cache gathers each beam's source sequence: its rows are the sequences' positions so
  // far, a prefix of each row of a [sequences, capacity · H · Dh] buffer whose other columns hold stale values.
  Context<backend::cuda> ctx;
  const index_t vocabulary = 6, width = 5 * 128, pitch = width + 7 * 128;
  const auto table = testing::rounded_to<TestType>(testing::random_tensor(Extents<2>{vocabulary, width}, 830));
  Tensor<TestType, 2> buffer(Extents<2>{vocabulary, pitch}, TestType(1000.0f));
  for (index_t r = 0; r < vocabulary; ++r) {
    for (index_t c = 0; c < width; ++c) {
      buffer(r, c) = TestType(table(r, c));
    }
  }
  const auto device_buffer = gpu::upload(ctx, buffer.view());
  const Tensor<std::int32_t, 1> ids = random_ids(9, vocabulary, 831);
  auto out = testing::poisoned<TestType>(ctx, Extents<2>{9, width});
  ops::embedding(ctx, out.view(), ids.view(),
                 WeightView<2>(CView<TestType, 2>(device_buffer.view()).slice(1, 0, width)));
  const Tensor<float, 2> got = testing::to_host(ctx, out);
  const auto want = testing::reference_embedding(ids.view(), WeightView<2>(CView<float, 2>(table.view())));
  CHECK(testing::relative_l2(got.view(), want.view()) == 0.0);
}

TEST_CASE("cuda embedding refuses a host table and out-of-range ids", "[cuda][qllama]") {
  Context<backend::cuda> ctx;
  Tensor<bf16, 2> host(Extents<2>{10, 8}, bf16(1.0f));
  gpu::DeviceTensor<bf16, 2> out(Extents<2>{2, 8});
  Tensor<std::int32_t, 1> ids(Extents<1>{2}, 3);
  REQUIRE_THROWS_WITH(ops::embedding(ctx, out.view(), ids.view(), WeightView<2>(CView<bf16, 2>(host.view()))),
                      Catch::Contains("table must point to device memory"));
  const auto table = gpu::upload(ctx, CView<bf16, 2>(host.view()));
  ids(1) = 10;
  REQUIRE_THROWS_WITH(ops::embedding(ctx, out.view(), ids.view(), WeightView<2>(CView<bf16, 2>(table.view()))),
                      Catch::Contains("token id 10 at position 1"));
}

TEMPLATE_TEST_CASE("cuda swiglu matches the reference", "[cuda][qllama]", float, bf16, f16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 900;
  for (const auto& [rows, width] :
       std::initializer_list<std::tuple<index_t, index_t>>{{96, 11008}, {240, 11008}, {1, 1}, {3, 17}, {5, 4097}}) {
    const Extents<2> shape{rows, width};
    const auto gate = testing::rounded_to<TestType>(testing::random_tensor(shape, ++seed, -8.0f, 8.0f));
    const auto up = testing::rounded_to<TestType>(testing::random_tensor(shape, ++seed, -4.0f, 4.0f));
    const auto want = testing::reference_swiglu(gate.view(), up.view());
    auto dgate = testing::to_device<TestType>(ctx, gate);
    const auto dup = testing::to_device<TestType>(ctx, up);
    auto out = testing::poisoned<TestType>(ctx, shape);
    INFO(testing::type_name<TestType>() << " rows " << rows << " width " << width);
    ops::swiglu(ctx, out.view(), CView<TestType, 2>(dgate.view()), CView<TestType, 2>(dup.view()));
    CHECK(testing::relative_l2(testing::to_host(ctx, out).view(), want.view()) < testing::tolerance<TestType>());
    ops::swiglu(ctx, dgate.view(), CView<TestType, 2>(dgate.view()), CView<TestType, 2>(dup.view()));  // in place
    CHECK(testing::relative_l2(testing::to_host(ctx, dgate).view(), want.view()) < testing::tolerance<TestType>());
  }
}

TEMPLATE_TEST_CASE("cuda copy writes a packed projection's heads into a strided cache slice", "[cuda][qllama]", float,
                   bf16, f16) {
  Context<backend::cuda> ctx;
  for (const auto& [batch, tokens, heads, head_dim] :
       std::initializer_list<std::array<index_t, 4>>{{5, 1, 32, 128}, {2, 100, 2, 4}, {1, 3, 1, 1}, {3, 7, 3, 17}}) {
    INFO(testing::type_name<TestType>() << " [" << batch << ", " << tokens << ", " << heads << ", " << head_dim << "]");
    const index_t capacity = tokens + 4, first = 3;  // positions [3, 3 + tokens) of [B, capacity, H, Dh]
    const Extents<5> packed{batch, tokens, 3, heads, head_dim};
    const auto host = testing::rounded_to<TestType>(testing::random_tensor(packed, 900 + tokens, -3.0f, 3.0f));
    const auto device = testing::to_device<TestType>(ctx, host);
    const Extents<4> shape{batch, tokens, heads, head_dim};
    const Extents<4> packed_strides{tokens * 3 * heads * head_dim, 3 * heads * head_dim, head_dim, 1};
    auto cache = testing::poisoned<TestType>(ctx, Extents<4>{batch, capacity, heads, head_dim});
    const View<TestType, 4> slice = cache.view().slice(1, first, first + tokens);
    ops::copy(ctx, slice, CView<TestType, 4>(device.data() + 2 * heads * head_dim, shape, packed_strides));  // v
    const Tensor<float, 4> got = testing::to_host(ctx, cache);
    const CView<float, 4> want(host.data() + 2 * heads * head_dim, shape, packed_strides);
    CHECK(testing::relative_l2(CView<float, 4>(got.view()).slice(1, first, first + tokens), want) == 0.0);
    CHECK(std::isnan(got(0, 0, 0, 0)));  // positions outside the slice keep their poison
    CHECK(std::isnan(got(batch - 1, capacity - 1, heads - 1, head_dim - 1)));
  }
}

namespace {

// Every direction between f32, bf16 and f16 on a strided source: the result is the host's conversion
// (core/dtype.hpp) of each value, NaN, ±Inf, ties, f16's overflow and subnormals included.
template <class To, class From>
void check_converting_copy(Context<backend::cuda>& ctx) {
  INFO(testing::type_name<From>() << " -> " << testing::type_name<To>());
  constexpr index_t kSpecials = 12, kRows = 3, kWidth = 40;
  Tensor<float, 2> values = testing::random_tensor(Extents<2>{kRows, kWidth}, 77, -70000.0f, 70000.0f);
  const float specials[kSpecials] = {std::numeric_limits<float>::quiet_NaN(),
                                     std::numeric_limits<float>::infinity(),
                                     -std::numeric_limits<float>::infinity(),
                                     0.0f,
                                     -0.0f,
                                     1.0f + 0x1p-8f,
                                     1.0f + 0x1p-11f,
                                     65520.0f,
                                     -1e9f,
                                     0x1p-20f,
                                     0x1p-130f,
                                     1.0f + 3 * 0x1p-9f};
  std::copy_n(specials, kSpecials, values.data());
  for (index_t i = 0; i < kWidth; ++i) {
    values(1, i) *= 0x1p-32f;  // below 1.6e-5: f16's subnormal range (under 6.1e-5)
  }
  const Tensor<float, 2> source = testing::rounded_to<From>(values);
  const auto device = testing::to_device<From>(ctx, source);
  const CView<From, 4> strided(device.data(), Extents<4>{1, 1, kRows, kWidth / 2}, Extents<4>{0, 0, kWidth, 1});
  auto out = testing::poisoned<To>(ctx, Extents<4>{1, 1, kRows, kWidth / 2});
  ops::copy(ctx, out.view(), strided);
  const Tensor<float, 4> got = testing::to_host(ctx, out);
  for (index_t r = 0; r < kRows; ++r) {
    for (index_t i = 0; i < kWidth / 2; ++i) {
      const float want = static_cast<float>(To(source(r, i)));
      INFO("row " << r << " column " << i << ": " << source(r, i) << " became " << got(0, 0, r, i) << ", want "
                  << want);
      if (std::isnan(want)) {
        CHECK(std::isnan(got(0, 0, r, i)));
      } else {
        CHECK((got(0, 0, r, i) == want && std::signbit(got(0, 0, r, i)) == std::signbit(want)));
      }
    }
  }
}

}  // namespace

TEST_CASE("cuda copy converts between f32, bf16 and f16 as the host conversions do", "[cuda][qllama]") {
  Context<backend::cuda> ctx;
  check_converting_copy<bf16, float>(ctx);
  check_converting_copy<f16, float>(ctx);
  check_converting_copy<float, bf16>(ctx);
  check_converting_copy<float, f16>(ctx);
  check_converting_copy<f16, bf16>(ctx);
  check_converting_copy<bf16, f16>(ctx);
}
