// models::retrieval_ranks and recall_at against clip_benchmark's way of scoring retrieval
// (tests/golden/retrieval/make_retrieval.py: top-k by a full sort in float64): every query's rank and
// recall@1/5/10 in both directions, on the reference and cpu backends, with the texts scored in blocks of
// every size from one text to all of them; the same with the dual softmax of the official video retrieval
// (test_msrvtt.py's use_dsl); plus ties, and the errors of bad input.
#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/linear.hpp"
#include "internvl/backend/reference/context.hpp"
#include "internvl/backend/reference/linear.hpp"
#include "internvl/io/npy.hpp"
#include "internvl/models/retrieval.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

nlohmann::json fixtures() {
  std::ifstream in(testing::golden_path("retrieval/retrieval.json"));
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

Tensor<float, 2> embeddings(const std::string& name) {
  return io::read_npy_f32<2>(testing::golden_path("retrieval/" + name + ".npy"));
}

template <class Backend>
void check_case(const std::string& name, const nlohmann::json& all,
                models::RetrievalScoring scoring = models::RetrievalScoring::cosine) {
  const bool dual_softmax = scoring == models::RetrievalScoring::dual_softmax;
  const nlohmann::json& expected = dual_softmax ? all.at(name).at("dual_softmax") : all.at(name);
  const auto images = embeddings(name + "_images"), texts = embeddings(name + "_texts");
  const auto image_of_text = all.at(name).at("image_of_text").get<std::vector<index_t>>();
  const auto text_count = static_cast<index_t>(image_of_text.size());
  REQUIRE(texts.size(0) == text_count);
  Context<Backend> ctx;
  for (const index_t block : {index_t{1}, index_t{7}, text_count - 1, text_count, index_t{1024}}) {
    INFO(name << " on " << Backend::name << ", " << block << " texts per block"
              << (dual_softmax ? ", dual softmax" : ""));
    const models::RetrievalRanks ranks = models::retrieval_ranks(
        ctx, CView<float, 2>(images.view()), CView<float, 2>(texts.view()), image_of_text, block, scoring);
    CHECK(ranks.text_to_image == expected.at("text_to_image_ranks").get<std::vector<index_t>>());
    CHECK(ranks.image_to_text == expected.at("image_to_text_ranks").get<std::vector<index_t>>());
    for (const index_t k : all.at("ks").get<std::vector<index_t>>()) {
      const std::string key = std::to_string(k);
      CHECK(models::recall_at(ranks.text_to_image, k) ==
            Approx(expected.at("text_to_image_recall").at(key).get<double>()));
      CHECK(models::recall_at(ranks.image_to_text, k) ==
            Approx(expected.at("image_to_text_recall").at(key).get<double>()));
    }
  }
}

}  // namespace

TEST_CASE("retrieval ranks and recall@k match clip_benchmark's scoring", "[retrieval]") {
  const nlohmann::json all = fixtures();
  for (const std::string name : {"varied", "grouped", "paired"}) {
    check_case<backend::reference>(name, all);
    check_case<backend::cpu>(name, all);
  }
}

TEST_CASE("retrieval with the dual softmax matches the official video retrieval's scoring", "[retrieval]") {
  // The fixture's recalls under the dual softmax differ from the cosine ones at k = 1 in both directions.
  const nlohmann::json all = fixtures();
  check_case<backend::reference>("paired", all, models::RetrievalScoring::dual_softmax);
  check_case<backend::cpu>("paired", all, models::RetrievalScoring::dual_softmax);
}

TEST_CASE("retrieval: a wrong candidate that ties with the best right answer does not count", "[retrieval]") {
  // Images e0 = (1, 0) and e1 = (0, 1); text 0 = (0.5, 0.5) describes image 0 and scores both alike, text 1 =
  // (0.5, 0.25) describes image 1 and scores image 0 higher, text 2 = (0, 1) describes image 1. Image 0's
  // right score (text 0's, 0.5) ties with wrong text 1's; image 1's best right score (1) is above text 0's.
  // Every product is exact in f32.
  Tensor<float, 2> images(Extents<2>{2, 2}), texts(Extents<2>{3, 2});
  const float image_values[] = {1.0f, 0.0f, 0.0f, 1.0f}, text_values[] = {0.5f, 0.5f, 0.5f, 0.25f, 0.0f, 1.0f};
  std::copy(std::begin(image_values), std::end(image_values), images.data());
  std::copy(std::begin(text_values), std::end(text_values), texts.data());
  const std::vector<index_t> image_of_text = {0, 1, 1};
  Context<backend::cpu> ctx;
  const models::RetrievalRanks ranks =
      models::retrieval_ranks(ctx, CView<float, 2>(images.view()), CView<float, 2>(texts.view()), image_of_text);
  CHECK(ranks.text_to_image == std::vector<index_t>{0, 1, 0});
  CHECK(ranks.image_to_text == std::vector<index_t>{0, 0});
}

TEST_CASE("retrieval: bad input is an error naming what is wrong", "[retrieval]") {
  Context<backend::cpu> ctx;
  const Tensor<float, 2> images = testing::random_tensor(Extents<2>{3, 4}, 1);
  const Tensor<float, 2> texts = testing::random_tensor(Extents<2>{4, 4}, 2);
  const auto ranks = [&](const Tensor<float, 2>& i, const Tensor<float, 2>& t, std::vector<index_t> image_of_text,
                         index_t block = 1024) {
    return models::retrieval_ranks(ctx, CView<float, 2>(i.view()), CView<float, 2>(t.view()), image_of_text, block);
  };
  REQUIRE_NOTHROW(ranks(images, texts, {0, 1, 2, 2}));
  CHECK_THROWS_WITH(ranks(images, texts, {0, 1, 3, 2}),
                    Catch::Contains("text 2 describes image 3, outside the 3 images"));
  CHECK_THROWS_WITH(ranks(images, texts, {0, 1, -1, 2}), Catch::Contains("text 2 describes image -1"));
  CHECK_THROWS_WITH(ranks(images, texts, {0, 1, 1, 1}), Catch::Contains("image 2 has no text"));
  CHECK_THROWS_WITH(ranks(images, texts, {0, 1, 2}), Catch::Contains("3 image indices for 4 texts"));
  CHECK_THROWS_WITH(ranks(images, texts, {0, 1, 2, 2}, 0), Catch::Contains("texts_per_block must be at least 1"));
  const Tensor<float, 2> narrow = testing::random_tensor(Extents<2>{4, 3}, 3);
  CHECK_THROWS_WITH(ranks(images, narrow, {0, 1, 2, 2}),
                    Catch::Contains("the image embeddings are 4 wide and the text embeddings 3"));
  Tensor<float, 2> broken = testing::random_tensor(Extents<2>{4, 4}, 2);
  broken.data()[3 * 4 + 1] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(ranks(images, broken, {0, 1, 2, 2}), Catch::Contains("the score of text 3 and image 0 is nan"));
  const std::vector<index_t> none;
  CHECK_THROWS_WITH(models::recall_at(none, 1), Catch::Contains("no queries"));
  const std::vector<index_t> some = {0, 3};
  CHECK_THROWS_WITH(models::recall_at(some, 0), Catch::Contains("k must be at least 1, got 0"));
  CHECK(models::recall_at(some, 1) == 0.5);
  CHECK(models::recall_at(some, 4) == 1.0);
}
