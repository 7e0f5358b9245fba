// Randomised mutations of valid safetensors files (seeded, a few thousand cases): bit flips in the
// header and anywhere, truncations, random header lengths, edits of the JSON text (characters
// changed, deleted, inserted; numbers replaced) with the length field kept consistent. Each mutant
// must either be refused with internvl::Error or open as a file that satisfies every invariant of
// safetensors_invariants.hpp; anything else (another exception, a crash) fails. The libFuzzer target
// fuzz_safetensors.cpp explores further where clang is available; this runs everywhere.
// Second, differentially: on the mutants in differential.bin (make.py), whose verdicts come from
// the reference reader (Python's safetensors), this reader must accept and refuse the same ones.
#include <catch2/catch.hpp>
#include <random>

#include "internvl/io/mapped_file.hpp"
#include "safetensors_invariants.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

using Bytes = std::vector<std::byte>;

Bytes read_fixture(const std::string& name) {
  const io::MappedFile file(testing::golden_path("safetensors/" + name));
  return {file.bytes().begin(), file.bytes().end()};
}

std::uint64_t header_size(const Bytes& b) {
  std::uint64_t n = 0;
  std::memcpy(&n, b.data(), 8);
  return n;
}

void set_header_size(Bytes& b, std::uint64_t n) { std::memcpy(b.data(), &n, 8); }

// Replaces header bytes [begin, end) by `text` and fixes the length field to match.
void edit_header(Bytes& b, std::size_t begin, std::size_t end, const std::string& text) {
  const std::uint64_t n = header_size(b);
  const auto* chars = reinterpret_cast<const std::byte*>(text.data());
  b.erase(b.begin() + static_cast<std::ptrdiff_t>(8 + begin), b.begin() + static_cast<std::ptrdiff_t>(8 + end));
  b.insert(b.begin() + static_cast<std::ptrdiff_t>(8 + begin), chars, chars + text.size());
  set_header_size(b, n - (end - begin) + text.size());
}

class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : rng_(seed) {}

  std::size_t below(std::size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

  // Applies mutation `kind` to a copy of a valid file `b`; returns a description for failure reports.
  std::string mutate(Bytes& b, int kind) {
    const std::size_t header = header_size(b);
    switch (kind) {
      case 0: {  // flip 1-8 bits anywhere
        const std::size_t flips = 1 + below(8);
        for (std::size_t i = 0; i < flips; ++i) {
          b[below(b.size())] ^= static_cast<std::byte>(1u << below(8));
        }
        return "bit flips anywhere";
      }
      case 1: {  // flip one bit in the header text
        b[8 + below(header)] ^= static_cast<std::byte>(1u << below(8));
        return "bit flip in the header";
      }
      case 2:  // truncate
        b.resize(below(b.size()));
        return "truncated to " + std::to_string(b.size());
      case 3: {  // a random header length: near the real one, small, or anything
        const std::uint64_t choices[] = {header + below(33) - 16, below(64), rng_(), b.size() - 8 + below(3) - 1};
        const std::uint64_t n = choices[below(4)];
        set_header_size(b, n);
        return "header length " + std::to_string(n);
      }
      case 4: {  // replace one header character with a JSON-significant one
        static const std::string alphabet = "{}[],:\"0123456789-.eE \\ntfu";
        const std::size_t at = below(header);
        edit_header(b, at, at + 1, std::string(1, alphabet[below(alphabet.size())]));
        return "character changed at " + std::to_string(at);
      }
      case 5: {  // delete or duplicate a stretch of the header
        const std::size_t at = below(header);
        const std::size_t length = std::min(header - at, 1 + below(24));
        const std::string stretch(reinterpret_cast<const char*>(b.data()) + 8 + at, length);
        edit_header(b, at, at + length, below(2) ? "" : stretch + stretch);
        return "stretch edited at " + std::to_string(at);
      }
      default: {  // replace a number in the header by another (offsets and dimensions)
        const std::string text(reinterpret_cast<const char*>(b.data()) + 8, header);
        std::size_t at = text.find_first_of("0123456789", below(header));
        if (at == std::string::npos) {
          at = text.find_first_of("0123456789");
        }
        if (at == std::string::npos) {
          return "no number to replace";
        }
        const std::size_t end = text.find_first_not_of("0123456789", at);
        const std::uint64_t old = std::stoull(text.substr(at, end - at));
        const std::string numbers[] = {std::to_string(old + 1),
                                       std::to_string(old - 1),
                                       std::to_string(old * 2),
                                       "0",
                                       "-1",
                                       "18446744073709551615",
                                       "18446744073709551616",
                                       "1e3",
                                       "4.0",
                                       std::to_string(rng_())};
        const std::string& replacement = numbers[below(std::size(numbers))];
        edit_header(b, at, end, replacement);
        return "number " + std::to_string(old) + " -> " + replacement;
      }
    }
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace

TEST_CASE("mutated files are refused with internvl::Error or open consistently", "[safetensors][fuzz]") {
  const std::vector<Bytes> valid = {read_fixture("single/model.safetensors"),
                                    read_fixture("sharded/model-00002-of-00002.safetensors"),
                                    read_fixture("all_dtypes.safetensors"), read_fixture("misaligned.safetensors")};
  for (const Bytes& b : valid) {
    REQUIRE(testing::safetensors_violation(io::SafetensorsFile::from_bytes(b, "valid"), b).empty());
  }
  Mutator mutator(20240601);
  constexpr int kCases = 6000;
  constexpr int kKinds = 7;
  int opened = 0;
  int refused = 0;
  for (int i = 0; i < kCases; ++i) {
    Bytes b = valid[mutator.below(valid.size())];
    const int kind = i % kKinds;
    const std::string what = mutator.mutate(b, kind);
    INFO("case " << i << ": " << what);
    try {
      const io::SafetensorsFile file = io::SafetensorsFile::from_bytes(b, "mutant");
      REQUIRE(testing::safetensors_violation(file, b).empty());
      ++opened;
    } catch (const Error& e) {
      REQUIRE_THAT(e.what(), Catch::StartsWith("internvl: mutant: "));
      ++refused;
    }
  }
  // Both outcomes occur: the mutations reach past the first checks, and they do break files.
  CHECK(opened > kCases / 50);
  CHECK(refused > kCases / 2);
}

TEST_CASE("mutants are accepted or refused exactly as the reference reader does", "[safetensors][fuzz]") {
  const Bytes records = read_fixture("differential.bin");
  int accepted = 0;
  int count = 0;
  for (std::size_t at = 0; at < records.size(); ++count) {
    REQUIRE(at + 5 <= records.size());
    const bool reference_accepts = records[at] == std::byte{1};
    std::uint32_t length = 0;
    std::memcpy(&length, records.data() + at + 1, 4);
    REQUIRE(at + 5 + length <= records.size());
    const Bytes mutant(records.begin() + static_cast<std::ptrdiff_t>(at + 5),
                       records.begin() + static_cast<std::ptrdiff_t>(at + 5 + length));
    at += 5 + length;
    std::string refusal;
    try {
      const io::SafetensorsFile file = io::SafetensorsFile::from_bytes(mutant, "mutant");
      REQUIRE(testing::safetensors_violation(file, mutant).empty());
    } catch (const Error& e) {
      refusal = e.what();
    }
    INFO("mutant " << count << (reference_accepts ? " accepted" : " refused")
                   << " by the reference; here: " << (refusal.empty() ? "accepted" : refusal));
    CHECK(refusal.empty() == reference_accepts);
    accepted += reference_accepts ? 1 : 0;
  }
  REQUIRE(count == 300);
  REQUIRE(accepted > 20);  // both verdicts are well represented
}
