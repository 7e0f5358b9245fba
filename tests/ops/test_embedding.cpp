// embedding: the reference against F.embedding on f32 / bf16 / f16 tables, the cpu backend against
// the reference on QLLaMA-sized rows (4096) and awkward widths, and out-of-vocabulary ids.
#include <catch2/catch.hpp>
#include <vector>

#include "internvl/backend/cpu/embedding.hpp"
#include "internvl/backend/reference/embedding.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

std::string fixture(const std::string& name) { return testing::golden_path("ops/qllama/" + name + ".npy"); }

Tensor<std::int32_t, 1> read_ids(const std::string& path) {
  const auto f = io::read_npy_f32<1>(path);  // small integers: exact in f32
  Tensor<std::int32_t, 1> ids(f.shape());
  for (index_t i = 0; i < f.numel(); ++i) {
    ids(i) = static_cast<std::int32_t>(f(i));
  }
  return ids;
}

template <class T>
WeightView<2> as_weight(const Tensor<T, 2>& t) {
  return CView<T, 2>(t.view());
}

}  // namespace

TEST_CASE("reference and cpu embedding match F.embedding in every dtype", "[embedding]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  const auto ids = read_ids(fixture("embedding_ids"));
  for (const std::string dtype : {"f32", "bf16", "f16"}) {
    INFO(dtype);
    const auto table = io::read_npy_f32<2>(fixture("embedding_table_" + dtype));
    const auto expected = io::read_npy_f32<2>(fixture("embedding_out_" + dtype));
    for (int backend = 0; backend < 2; ++backend) {
      Tensor<float, 2> out(expected.shape());
      testing::poison(out.view());
      const auto run = [&](const WeightView<2>& w) {
        if (backend == 0) {
          ops::embedding(ref, out.view(), ids.view(), w);
        } else {
          ops::embedding(cpu, out.view(), ids.view(), w);
        }
      };
      if (dtype == "bf16") {
        const auto stored = testing::convert<bf16>(table);
        run(as_weight(stored));
      } else if (dtype == "f16") {
        const auto stored = testing::convert<f16>(table);
        run(as_weight(stored));
      } else {
        run(as_weight(table));
      }
      REQUIRE(testing::relative_l2(out.view(), expected.view()) == 0.0);
    }
  }
}

TEST_CASE("cpu embedding matches the reference", "[embedding]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  for (index_t width : {1, 3, 17, 64, 1024, 3200, 4096}) {
    for (index_t count : {1, 3, 80, 257}) {
      const index_t vocab = 301;
      const auto table =
          testing::convert<bf16>(testing::random_tensor(Extents<2>{vocab, width}, static_cast<std::uint64_t>(width)));
      Tensor<std::int32_t, 1> ids(Extents<1>{count});
      for (index_t n = 0; n < count; ++n) {
        ids(n) = static_cast<std::int32_t>((n * 7919 + width) % vocab);
      }
      Tensor<float, 2> want(Extents<2>{count, width});
      Tensor<float, 2> got(Extents<2>{count, width});
      testing::poison(got.view());
      ops::embedding(ref, want.view(), ids.view(), as_weight(table));
      ops::embedding(cpu, got.view(), ids.view(), as_weight(table));
      INFO("width " << width << " tokens " << count);
      REQUIRE(testing::relative_l2(got.view(), want.view()) == 0.0);
    }
  }
}

TEST_CASE("embedding rejects ids outside the vocabulary and bad shapes", "[embedding]") {
  Context<backend::cpu> cpu;
  const Tensor<float, 2> table(Extents<2>{10, 4}, 1.0f);
  Tensor<float, 2> out(Extents<2>{3, 4});
  Tensor<std::int32_t, 1> ids(Extents<1>{3}, 0);
  ids(2) = 10;
  REQUIRE_THROWS_WITH(
      ops::embedding(cpu, out.view(), ids.view(), as_weight(table)),
      Catch::Contains("ops::embedding") && Catch::Contains("token id 10 at position 2") && Catch::Contains("[0, 10)"));
  ids(2) = -1;
  REQUIRE_THROWS_WITH(ops::embedding(cpu, out.view(), ids.view(), as_weight(table)), Catch::Contains("token id -1"));
  ids(2) = 3;
  Tensor<float, 2> wrong(Extents<2>{3, 5});
  REQUIRE_THROWS_WITH(ops::embedding(cpu, wrong.view(), ids.view(), as_weight(table)),
                      Catch::Contains("out has shape [3, 5], expected [3, 4]"));
}
