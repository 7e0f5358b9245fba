// first_ill_formed_utf8 against Python's UTF-8 decoder (tests/golden/text/make_utf8.py): for each byte
// string, the offset of the first ill-formed sequence, or none; strip_whitespace against Python's str.strip().
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "internvl/text/utf8.hpp"
#include "testing.hpp"

using internvl::text::first_ill_formed_utf8;

namespace {

std::string from_hex(const std::string& hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

}  // namespace

TEST_CASE("first_ill_formed_utf8 finds what Python's decoder finds", "[utf8]") {
  std::ifstream in(internvl::testing::golden_path("text/utf8.json"));
  REQUIRE(in.good());
  const nlohmann::json cases = nlohmann::json::parse(in);
  REQUIRE(cases.size() > 3000);
  for (const nlohmann::json& c : cases) {
    const std::string hex = c.at(0).get<std::string>();
    const std::optional<std::size_t> expected =
        c.at(1).is_null() ? std::nullopt : std::optional<std::size_t>(c.at(1).get<std::size_t>());
    INFO("bytes " << hex);
    REQUIRE(first_ill_formed_utf8(from_hex(hex)) == expected);
  }
}

TEST_CASE("strip_whitespace leaves what Python's str.strip() leaves", "[utf8]") {
  std::ifstream in(internvl::testing::golden_path("text/utf8_strip.json"));
  REQUIRE(in.good());
  const nlohmann::json cases = nlohmann::json::parse(in);
  REQUIRE(cases.size() > 400);
  for (const nlohmann::json& c : cases) {
    INFO("bytes " << c.at(0).get<std::string>());
    REQUIRE(internvl::text::strip_whitespace(from_hex(c.at(0).get<std::string>())) ==
            from_hex(c.at(1).get<std::string>()));
  }
}
