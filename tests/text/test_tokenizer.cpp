// The QLLaMA tokenizer against the Python sentencepiece package (tests/golden/text/make.py, cross-checked there
// with transformers 4.x's LlamaTokenizer): plain ids, decoding, the official [80] input rows, batches, captioning
// prompts, captions' decoding (special tokens skipped, Python's strip()), and the errors for bad model files and
// bad formats. The real tokenizer.model comes from
// INTERNVL_QLLAMA_TOKENIZER (set by meson test); without it the tests fail, they never skip.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "internvl/text/tokenizer.hpp"
#include "internvl/text/utf8.hpp"
#include "testing.hpp"

using namespace internvl;
using text::Padding;
using text::TextFormat;
using text::token_t;
using text::Tokenizer;

namespace {

std::string model_path() {
  const char* path = std::getenv("INTERNVL_QLLAMA_TOKENIZER");
  if (path == nullptr || *path == '\0') {
    FAIL("INTERNVL_QLLAMA_TOKENIZER is not set: run through `meson test`, or point it at qllama-tokenizer.model");
  }
  if (!std::filesystem::is_regular_file(path)) {
    FAIL("QLLaMA's tokenizer model is missing at " << path
                                                   << " (it lives in shared/data/ beside the repository; configure "
                                                      "with -Dqllama_tokenizer=PATH if it is elsewhere)");
  }
  return path;
}

const Tokenizer& qllama() {
  static const Tokenizer tokenizer(model_path());
  return tokenizer;
}

struct Case {
  std::string name;
  std::string text;  // UTF-8 bytes (invalid UTF-8 for the bytes_hex cases)
  std::vector<token_t> ids;
  std::string decoded;
  std::vector<token_t> qllama;  // [80]
  index_t length;
};

std::string from_hex(const std::string& hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

const nlohmann::json& fixture() {
  static const nlohmann::json json = [] {
    std::ifstream in(testing::golden_path("text/tokens.json"));
    REQUIRE(in.good());
    return nlohmann::json::parse(in);
  }();
  return json;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = [] {
    std::vector<Case> out;
    for (const auto& c : fixture().at("cases")) {
      out.push_back(
          {c.at("name").get<std::string>(),
           c.contains("text") ? c.at("text").get<std::string>() : from_hex(c.at("bytes_hex").get<std::string>()),
           c.at("ids").get<std::vector<token_t>>(), c.at("decoded").get<std::string>(),
           c.at("qllama").get<std::vector<token_t>>(), c.at("length").get<index_t>()});
    }
    return out;
  }();
  return all;
}

std::vector<std::string> texts_of(const std::vector<Case>& cs) {
  std::vector<std::string> texts;
  for (const Case& c : cs) texts.push_back(c.text);
  return texts;
}

std::vector<token_t> row(const text::TokenizedBatch& b, index_t t) {
  const token_t* p = b.ids.data() + t * b.ids.size(1);
  return {p, p + b.ids.size(1)};
}

// A file in the temporary directory holding the given bytes, removed at scope exit.
struct TempFile {
  explicit TempFile(const std::string& name, const std::string& bytes)
      : path((std::filesystem::temp_directory_path() / name).string()) {
    std::ofstream(path, std::ios::binary) << bytes;
  }
  ~TempFile() { std::filesystem::remove(path); }
  std::string path;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("the model is QLLaMA's: 49,954 pieces, control and byte pieces where the facts sheet says", "[tokenizer]") {
  const Tokenizer& tok = qllama();
  REQUIRE(tok.vocab_size() == fixture().at("vocab_size").get<index_t>());
  REQUIRE(tok.vocab_size() == 49954);
  for (const auto& [id, piece] : fixture().at("pieces").items()) {
    CHECK(tok.piece(std::stoi(id)) == piece.get<std::string>());
  }
  CHECK(tok.find_piece("▁a") == 263);
  CHECK(tok.find_piece("<unk>") == 0);
  CHECK(tok.find_piece("</s>") == 2);
  CHECK(tok.find_piece("[PAD]") == 49953);
  CHECK_FALSE(tok.find_piece("no such piece").has_value());
  CHECK_FALSE(tok.find_piece("").has_value());
}

TEST_CASE("encode and decode match the sentencepiece package on every fixture text", "[tokenizer]") {
  REQUIRE(cases().size() > 300);
  for (const Case& c : cases()) {
    INFO("case " << c.name);
    CHECK(qllama().encode(c.text) == c.ids);
    CHECK(qllama().decode(c.ids) == c.decoded);
  }
}

TEST_CASE("format gives the official [80] rows: BOS, summarize:+text cut to 78, EOS, zero padding", "[tokenizer]") {
  for (const Case& c : cases()) {
    INFO("case " << c.name);
    const text::TokenizedText t = qllama().format(c.text);
    CHECK(t.ids == c.qllama);
    CHECK(t.length == c.length);
    REQUIRE(t.attention_mask.size() == 80);
    for (std::size_t i = 0; i < 80; ++i) {
      // The model's own rule is ids > 0 (no real token is id 0); the mask is the real length.
      CHECK(t.attention_mask[i] == (t.ids[i] > 0 ? 1 : 0));
      CHECK(t.attention_mask[i] == (static_cast<index_t>(i) < t.length ? 1 : 0));
    }
  }
}

TEST_CASE("a batch gives [T, 80] int32 rows equal to the single-text rows, with lengths and masks", "[tokenizer]") {
  const std::vector<std::string> texts = texts_of(cases());
  const text::TokenizedBatch b = qllama().format(texts);
  const auto count = static_cast<index_t>(texts.size());
  REQUIRE(b.ids.shape() == Extents<2>{count, 80});
  REQUIRE(b.attention_mask.shape() == Extents<2>{count, 80});
  REQUIRE(b.lengths.size() == texts.size());
  for (index_t t = 0; t < count; ++t) {
    const Case& c = cases()[static_cast<std::size_t>(t)];
    INFO("case " << c.name);
    CHECK(row(b, t) == c.qllama);
    CHECK(b.lengths[static_cast<std::size_t>(t)] == c.length);
    for (index_t i = 0; i < 80; ++i) {
      CHECK(b.attention_mask(t, i) == (i < c.length ? 1 : 0));
    }
  }
  REQUIRE(qllama().format(std::vector<std::string>{}).ids.shape() == Extents<2>{0, 80});
}

TEST_CASE("Padding::longest pads a batch to its longest row only (the raw InternVL-C path)", "[tokenizer]") {
  const std::vector<Case> some(cases().begin(), cases().begin() + 5);  // english .. arabic: all shorter than 80
  TextFormat fmt;
  fmt.padding = Padding::longest;
  const text::TokenizedBatch b = qllama().format(texts_of(some), fmt);
  index_t longest = 0;
  for (const Case& c : some) longest = std::max(longest, c.length);
  REQUIRE(longest < 80);
  REQUIRE(b.ids.shape() == Extents<2>{5, longest});
  for (index_t t = 0; t < 5; ++t) {
    const Case& c = some[static_cast<std::size_t>(t)];
    CHECK(row(b, t) == std::vector<token_t>(c.qllama.begin(), c.qllama.begin() + longest));
    CHECK(b.lengths[static_cast<std::size_t>(t)] == c.length);
  }
  const text::TokenizedText one = qllama().format(some[0].text, fmt);
  CHECK(one.ids == std::vector<token_t>(some[0].qllama.begin(), some[0].qllama.begin() + some[0].length));
  CHECK(one.attention_mask == std::vector<std::uint8_t>(static_cast<std::size_t>(some[0].length), 1));
}

TEST_CASE("captions decode as evaluate_caption.py takes them: special tokens skipped, Python's strip()",
          "[tokenizer]") {
  for (const auto& c : fixture().at("decodes_skipping_special")) {
    const auto ids = c.at("ids").get<std::vector<token_t>>();
    INFO("ids " << nlohmann::json(ids).dump());
    CHECK(text::strip_whitespace(qllama().decode(ids, text::SpecialTokens::skip)) == c.at("text").get<std::string>());
  }
  const std::vector<token_t> unk_and_pad = {263, 0, 49953, 2654};
  CHECK(qllama().decode(unk_and_pad) != qllama().decode(unk_and_pad, text::SpecialTokens::skip));  // kept by default
}

TEST_CASE("captioning prompts: BOS + prompt, no EOS, no padding, never truncated", "[tokenizer]") {
  for (const auto& c : fixture().at("captioning")) {
    const std::vector<token_t> expected = c.at("ids");
    const text::TokenizedText t = qllama().format(c.at("text").get<std::string>(), TextFormat::captioning());
    CHECK(t.ids == expected);
    CHECK(t.length == static_cast<index_t>(expected.size()));
  }
}

TEST_CASE("prefix, max length and special ids are parameters", "[tokenizer]") {
  const Case& c = cases()[0];  // "a photo of a red panda": 7 plain ids
  REQUIRE(c.ids.size() == 7);
  TextFormat fmt;
  fmt.prefix = "";
  fmt.max_length = 6;
  fmt.bos_id = 5;
  fmt.eos_id = 6;
  fmt.pad_id = 7;
  CHECK(qllama().format(c.text, fmt).ids == std::vector<token_t>{5, c.ids[0], c.ids[1], c.ids[2], c.ids[3], 6});
  fmt.max_length = 11;
  const text::TokenizedText padded = qllama().format(c.text, fmt);
  CHECK(padded.ids ==
        std::vector<token_t>{5, c.ids[0], c.ids[1], c.ids[2], c.ids[3], c.ids[4], c.ids[5], c.ids[6], 6, 7, 7});
  CHECK(padded.length == 9);
  fmt.add_bos = false;
  fmt.add_eos = false;
  fmt.max_length = 3;
  CHECK(qllama().format(c.text, fmt).ids == std::vector<token_t>{c.ids[0], c.ids[1], c.ids[2]});
  fmt.add_bos = true;
  fmt.add_eos = true;
  fmt.max_length = 2;  // room for the special tokens only, as HF truncation leaves it
  CHECK(qllama().format(c.text, fmt).ids == std::vector<token_t>{5, 6});
}

TEST_CASE("concurrent encoding from several threads gives the same rows", "[tokenizer]") {
  const std::vector<std::string> texts = texts_of(cases());
  std::vector<text::TokenizedBatch> results(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = qllama().format(texts); });
  }
  for (std::thread& th : threads) th.join();
  for (const text::TokenizedBatch& b : results) {
    for (index_t t = 0; t < b.ids.size(0); ++t) {
      REQUIRE(row(b, t) == cases()[static_cast<std::size_t>(t)].qllama);
    }
  }
}

TEST_CASE("bad model files are errors that name the file", "[tokenizer][errors]") {
  REQUIRE_THROWS_WITH(Tokenizer(""), Catch::Contains("text::Tokenizer") && Catch::Contains("path is empty"));
  const std::string missing = (std::filesystem::temp_directory_path() / "internvl_no_such_tokenizer.model").string();
  REQUIRE_THROWS_WITH(Tokenizer(missing), Catch::Contains(missing) && Catch::Contains("not found"));
  const std::string dir = std::filesystem::temp_directory_path().string();
  REQUIRE_THROWS_WITH(Tokenizer(dir), Catch::Contains(dir) && Catch::Contains("not a regular file"));

  const TempFile text_file("internvl_tokenizer_text.model", "this is not a sentencepiece model\n");
  REQUIRE_THROWS_WITH(Tokenizer(text_file.path),
                      Catch::Contains(text_file.path) && Catch::Contains("not a SentencePiece model"));
  const TempFile empty_file("internvl_tokenizer_empty.model", "");
  REQUIRE_THROWS_WITH(Tokenizer(empty_file.path), Catch::Contains(empty_file.path) && Catch::Contains("SentencePiece"));
  const std::string real = read_bytes(model_path());
  const TempFile truncated("internvl_tokenizer_truncated.model", real.substr(0, real.size() / 2));
  REQUIRE_THROWS_WITH(Tokenizer(truncated.path),
                      Catch::Contains(truncated.path) && Catch::Contains("not a SentencePiece model"));
  std::string garbage(4096, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 2654435761u) >> 13);
  const TempFile random_file("internvl_tokenizer_garbage.model", garbage);
  REQUIRE_THROWS_WITH(Tokenizer(random_file.path),
                      Catch::Contains(random_file.path) && Catch::Contains("not a SentencePiece model"));
}

TEST_CASE("bad formats and ids are errors that name the field", "[tokenizer][errors]") {
  TextFormat fmt;
  fmt.max_length = 1;
  REQUIRE_THROWS_WITH(qllama().format("x", fmt), Catch::Contains("text::TextFormat") &&
                                                     Catch::Contains("max_length is 1") &&
                                                     Catch::Contains("2 special token(s)"));
  fmt = TextFormat{};
  fmt.max_length = 0;
  fmt.add_bos = false;
  fmt.add_eos = false;
  REQUIRE_THROWS_WITH(qllama().format(std::vector<std::string>{"x"}, fmt), Catch::Contains("max_length is 0"));
  fmt = TextFormat{};
  fmt.bos_id = 49954;
  REQUIRE_THROWS_WITH(qllama().format("x", fmt),
                      Catch::Contains("bos_id is 49954") && Catch::Contains("outside the vocabulary [0, 49954)"));
  fmt = TextFormat{};
  fmt.pad_id = -1;
  REQUIRE_THROWS_WITH(qllama().format("x", fmt), Catch::Contains("pad_id is -1"));
  fmt = TextFormat{};
  fmt.eos_id = 100000;
  REQUIRE_THROWS_WITH(qllama().format("x", fmt), Catch::Contains("eos_id is 100000"));

  REQUIRE_THROWS_WITH(qllama().decode(std::vector<token_t>{1, 49954}),
                      Catch::Contains("text::Tokenizer::decode") && Catch::Contains("id 49954 is outside"));
  REQUIRE_THROWS_WITH(qllama().piece(-1), Catch::Contains("text::Tokenizer::piece") && Catch::Contains("id -1"));
}
