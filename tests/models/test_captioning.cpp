// InternVL-G captioning against transformers 4.37.2 and OpenGVLab's modeling code
// (tests/golden/internvl/make_caption.py):
//   beam search alone (models/beam_search.hpp) against transformers' generate on a table model, in
//   four settings that close beams with eos early, ban it to the end, normalise with length penalties
//   0.6 to 1.3 and end with an empty hypothesis: the same tokens, scores to 1e-6; and one beam against
//   its greedy decoding: the same tokens;
//   the whole path (models/captioning.hpp) on the tiny model, f32 and bf16 checkpoints, reference and
//   cpu backends: the prompt's ids from the real tokenizer, the first step's logits (queries, then the
//   prompt against the key/value cache) to 1e-5 relative L2, and the official generate's 30 tokens
//   per image, their scores to 1e-4;
//   the errors of bad options and misuse.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "grid.hpp"
#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"
#include "internvl/models/captioning.hpp"
#include "internvl/models/load_internvl.hpp"
#include "internvl/text/tokenizer.hpp"
#include "internvl_golden.hpp"

using namespace internvl;

namespace {

// Each row of a saved [N, W] hypothesis table: its tokens, the -1 padding removed.
std::vector<std::vector<std::int32_t>> saved_hypotheses(const std::string& name) {
  const auto table = testing::internvl_expected<2>(name);
  std::vector<std::vector<std::int32_t>> rows(static_cast<std::size_t>(table.size(0)));
  for (index_t i = 0; i < table.size(0); ++i) {
    for (index_t j = 0; j < table.size(1) && table(i, j) >= 0; ++j) {
      rows[static_cast<std::size_t>(i)].push_back(static_cast<std::int32_t>(table(i, j)));
    }
  }
  return rows;
}

// The tokens of each result, and its score unless the fixture has none (tolerance 0: one beam, where
// transformers' generate runs greedy_search, which scores nothing).
void check_results(const std::vector<models::Hypothesis>& got, const std::string& fixture, double tolerance) {
  const auto tokens = saved_hypotheses(fixture + "_tokens");
  REQUIRE(got.size() == tokens.size());
  for (std::size_t b = 0; b < got.size(); ++b) {
    INFO(fixture << " input " << b);
    CHECK(got[b].tokens == tokens[b]);
  }
  if (tolerance == 0.0) {
    return;
  }
  const auto scores = testing::internvl_expected<1>(fixture + "_scores");
  for (std::size_t b = 0; b < got.size(); ++b) {
    INFO(fixture << " input " << b << " score " << got[b].score << ", expected " << scores(static_cast<index_t>(b)));
    CHECK(std::abs(got[b].score - scores(static_cast<index_t>(b))) <=
          tolerance * std::abs(scores(static_cast<index_t>(b))));
  }
}

}  // namespace

TEST_CASE("beam search chooses what transformers' generate chooses", "[captioning]") {
  struct Case {
    const char* name;
    models::BeamSearchOptions options;
  };
  const Case cases[] = {
      {"k5", {.num_beams = 5, .max_new_tokens = 10, .min_new_tokens = 3, .length_penalty = 1.0f}},
      {"k3", {.num_beams = 3, .max_new_tokens = 8, .min_new_tokens = 0, .length_penalty = 0.6f}},
      {"k4", {.num_beams = 4, .max_new_tokens = 12, .min_new_tokens = 2, .length_penalty = 1.3f}},
      {"k2", {.num_beams = 2, .max_new_tokens = 6, .min_new_tokens = 6, .length_penalty = 1.0f}},
      {"k1", {.num_beams = 1, .max_new_tokens = 9, .min_new_tokens = 2, .length_penalty = 1.0f}},
  };
  for (const Case& c : cases) {
    const std::string fixture = std::string("beam_") + c.name;
    INFO(fixture);
    const auto table = testing::internvl_expected<3>(fixture + "_table");  // [S, 5, V]
    const auto prompt = testing::internvl_expected<1>(fixture + "_prompt");
    const index_t vocab = table.size(2), beams = c.options.num_beams;
    models::BeamSearch search(prompt.size(0), c.options);
    Tensor<float, 2> logits(Extents<2>{search.rows(), vocab});
    while (!search.finished()) {
      for (index_t r = 0; r < search.rows(); ++r) {  // the table model: logits of (step, last token % 5)
        const index_t last = search.generated() == 0 ? static_cast<index_t>(prompt(r / beams))
                                                     : search.next_tokens()[static_cast<std::size_t>(r)];
        for (index_t v = 0; v < vocab; ++v) {
          logits(r, v) = table(search.generated(), last % 5, v);
        }
      }
      search.step(logits.view());
    }
    check_results(search.results(), fixture, c.options.num_beams > 1 ? 1e-6 : 0.0);
  }
}

TEST_CASE("beam search refuses bad options and misuse", "[captioning]") {
  using models::BeamSearch;
  using models::BeamSearchOptions;
  CHECK_THROWS_WITH(BeamSearch(1, BeamSearchOptions{.num_beams = 0}),
                    Catch::Contains("num_beams must be at least 1, got 0"));
  CHECK_THROWS_WITH(BeamSearch(1, BeamSearchOptions{.max_new_tokens = 5, .min_new_tokens = 6}),
                    Catch::Contains("min_new_tokens (6) must lie in [0, max_new_tokens = 5]"));
  CHECK_THROWS_WITH(BeamSearch(0, BeamSearchOptions{}), Catch::Contains("at least one input"));
  CHECK_THROWS_WITH(BeamSearch(1, BeamSearchOptions{.eos_id = -1}),
                    Catch::Contains("eos_id (-1) and pad_id (0) must be token ids, not negative"));
  CHECK_THROWS_WITH(BeamSearch(1, BeamSearchOptions{.pad_id = -1}), Catch::Contains("pad_id (-1)"));
  BeamSearch search(2, BeamSearchOptions{.num_beams = 2, .max_new_tokens = 1, .min_new_tokens = 0});
  CHECK_THROWS_WITH(search.results(), Catch::Contains("results before the search finished"));
  Tensor<float, 2> wrong(Extents<2>{3, 10});
  CHECK_THROWS_WITH(search.step(wrong.view()), Catch::Contains("logits have shape [3, 10], expected [4, V]"));
  Tensor<float, 2> logits(Extents<2>{4, 10});
  for (index_t i = 0; i < logits.numel(); ++i) {
    logits.data()[i] = static_cast<float>(i % 7);
  }
  search.step(logits.view());
  CHECK(search.finished());
  CHECK_THROWS_WITH(search.step(logits.view()), Catch::Contains("step after the search finished"));
  CHECK(search.results().size() == 2);
}

namespace {

template <class Backend>
void check_captions(const std::string& directory, const std::string& run) {
  INFO(run << " on " << Backend::name);
  Context<Backend> ctx;
  auto model = models::load_internvl<presets::TinyInternVL, Backend>(testing::internvl_golden(directory));
  const text::Tokenizer tokenizer(model.tokenizer_path().string());
  const std::vector<std::int32_t> prompt = tokenizer.format("English caption:", text::TextFormat::captioning()).ids;
  const auto saved_prompt = testing::internvl_expected<1>("caption_prompt");
  REQUIRE(prompt == std::vector<std::int32_t>(saved_prompt.data(), saved_prompt.data() + saved_prompt.numel()));
  const auto pixels = testing::internvl_expected<4>("tiny_pixels");

  if (run == "f32") {  // the first step by hand: the queries, then the prompt against the cache
    const auto& qllama = model.qllama();
    const index_t images = pixels.size(0), length = static_cast<index_t>(prompt.size());
    models::QLlamaKvCache<Backend> cache(ctx, qllama.config(), images, qllama.config().num_query_token + length);
    model.vision_tokens(ctx, pixels.view(), [&](CView<float, 3> tokens) { qllama.cache_queries(ctx, cache, tokens); });
    std::vector<std::int32_t> ids;
    for (index_t b = 0; b < images; ++b) {
      ids.insert(ids.end(), prompt.begin(), prompt.end());
    }
    Tensor<float, 3> hidden(Extents<3>{images, length, qllama.config().hidden_size});
    qllama.decode(ctx, hidden.view(), CView<std::int32_t, 2>(ids.data(), Extents<2>{images, length}), cache);
    CHECK(cache.length() == qllama.config().num_query_token + length);
    Tensor<float, 2> last(Extents<2>{images, qllama.config().hidden_size});
    for (index_t b = 0; b < images; ++b) {
      for (index_t i = 0; i < last.size(1); ++i) {
        last(b, i) = hidden(b, length - 1, i);
      }
    }
    Tensor<float, 2> logits(Extents<2>{images, qllama.config().vocab_size});
    qllama.logits(ctx, logits.view(), CView<float, 2>(last.view()));
    const double err =
        testing::relative_l2(logits.view(), testing::internvl_expected<2>("caption_f32_prompt_logits").view());
    INFO("prompt logits: relative L2 " << err);
    CHECK(err <= 1e-5);
  }
  check_results(models::caption(ctx, model, CView<float, 4>(pixels.view()), prompt), "caption_" + run, 1e-4);
}

}  // namespace

TEST_CASE("captions of the tiny model are the official generate's", "[captioning]") {
  if (testing::large_sizes()) {  // the slowest under AddressSanitizer, and the cpu runs reach the same code
    check_captions<backend::reference>("tiny_f32", "f32");
  }
  check_captions<backend::cpu>("tiny_f32", "f32");
  check_captions<backend::cpu>("tiny_bf16", "bf16w");
}

TEST_CASE("captioning refuses an empty prompt, a search larger than memory and a cache that cannot hold the text",
          "[captioning]") {
  Context<backend::cpu> ctx;
  auto model = models::load_internvl<presets::TinyInternVL, backend::cpu>(testing::internvl_golden("tiny_f32"));
  const auto pixels = testing::internvl_expected<4>("tiny_pixels");
  CHECK_THROWS_WITH(models::caption(ctx, model, CView<float, 4>(pixels.view()), std::span<const std::int32_t>{}),
                    Catch::Contains("the prompt has no tokens"));
  // More memory than any machine has: refused before the search or the cache allocates anything.
  models::BeamSearchOptions huge;
  huge.num_beams = 1'000'000'000;
  const std::int32_t prompt[] = {1, 2};
  CHECK_THROWS_WITH(models::caption(ctx, model, CView<float, 4>(pixels.view()), prompt, huge),
                    Catch::Contains("images x 1000000000 beams over") &&
                        Catch::Contains("GB of host memory for the key/value cache and the logits, more than the"));
  const auto& qllama = model.qllama();
  models::QLlamaKvCache<backend::cpu> cache(ctx, qllama.config(), 2, qllama.config().num_query_token + 1);
  model.vision_tokens(ctx, pixels.view(), [&](CView<float, 3> tokens) {
    qllama.cache_queries(ctx, cache, tokens);
    CHECK_THROWS_WITH(qllama.cache_queries(ctx, cache, tokens), Catch::Contains("the queries go first"));
  });
  const std::int32_t ids[] = {1, 2, 1, 2};
  Tensor<float, 3> hidden(Extents<3>{2, 2, qllama.config().hidden_size});
  CHECK_THROWS_WITH(qllama.decode(ctx, hidden.view(), CView<std::int32_t, 2>(ids, Extents<2>{2, 2}), cache),
                    Catch::Contains("2 sequences of 2 more tokens do not fit"));
}
