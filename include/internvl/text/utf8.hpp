// Well-formed UTF-8 (Unicode §3.9, table 3-7): each code point is one of
//   00..7F | C2..DF 80..BF | E0 A0..BF 80..BF | E1..EC 80..BF 80..BF | ED 80..9F 80..BF
//   | EE..EF 80..BF 80..BF | F0 90..BF 80..BF 80..BF | F1..F3 80..BF 80..BF 80..BF | F4 80..8F 80..BF 80..BF
// so overlong forms, surrogates (U+D800..U+DFFF) and values past U+10FFFF are ill-formed.
// first_ill_formed_utf8(text) is the offset at which the first ill-formed sequence starts (where Python's
// bytes.decode('utf-8') reports its UnicodeDecodeError), or nothing for well-formed text. The example
// programs refuse text files and arguments that hold such bytes, as Python's decoding of them would:
// SentencePiece (and so text::Tokenizer, which matches it) encodes each bad byte as U+FFFD without a word.
// strip_whitespace(text) is Python's text.strip(): the code points str.isspace() accepts (ASCII white space,
// U+001C..U+001F, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000) removed
// from both ends of well-formed UTF-8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace internvl::text {

inline std::optional<std::size_t> first_ill_formed_utf8(std::string_view text) {
  const auto byte = [&](std::size_t i) { return i < text.size() ? static_cast<std::uint8_t>(text[i]) : 0x100u; };
  const auto in = [](unsigned b, unsigned low, unsigned high) { return b >= low && b <= high; };
  for (std::size_t i = 0; i < text.size();) {
    const unsigned lead = byte(i);
    if (lead <= 0x7F) {
      ++i;
      continue;
    }
    // The allowed range of the second byte, and how many bytes the sequence has.
    unsigned low = 0x80, high = 0xBF;
    std::size_t length = 0;
    if (in(lead, 0xC2, 0xDF)) {
      length = 2;
    } else if (in(lead, 0xE0, 0xEF)) {
      length = 3;
      low = lead == 0xE0 ? 0xA0 : 0x80;
      high = lead == 0xED ? 0x9F : 0xBF;
    } else if (in(lead, 0xF0, 0xF4)) {
      length = 4;
      low = lead == 0xF0 ? 0x90 : 0x80;
      high = lead == 0xF4 ? 0x8F : 0xBF;
    } else {
      return i;  // a continuation byte without a lead, C0, C1 or F5..FF
    }
    if (!in(byte(i + 1), low, high)) {
      return i;
    }
    for (std::size_t k = 2; k < length; ++k) {
      if (!in(byte(i + k), 0x80, 0xBF)) {
        return i;
      }
    }
    i += length;
  }
  return std::nullopt;
}

namespace detail {

inline bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// The code point of the well-formed sequence text[begin, end).
inline char32_t code_point(std::string_view text, std::size_t begin, std::size_t end) {
  const auto b = [&](std::size_t i) { return static_cast<char32_t>(static_cast<std::uint8_t>(text[i])); };
  const std::size_t length = end - begin;
  char32_t c = length == 1 ? b(begin) : length == 2 ? b(begin) & 0x1F : length == 3 ? b(begin) & 0x0F : b(begin) & 0x07;
  for (std::size_t i = begin + 1; i < end; ++i) {
    c = (c << 6) | (b(i) & 0x3F);
  }
  return c;
}

// The length of the sequence that starts with this lead byte.
inline std::size_t sequence_length(std::uint8_t lead) {
  return lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

}  // namespace detail

inline std::string_view strip_whitespace(std::string_view text) {
  std::size_t begin = 0, end = text.size();
  while (begin < end) {
    const std::size_t next = begin + detail::sequence_length(static_cast<std::uint8_t>(text[begin]));
    if (next > end || !detail::is_python_space(detail::code_point(text, begin, next))) {
      break;
    }
    begin = next;
  }
  while (end > begin) {
    std::size_t start = end - 1;
    while (start > begin && (static_cast<std::uint8_t>(text[start]) & 0xC0) == 0x80) {
      --start;
    }
    if (!detail::is_python_space(detail::code_point(text, start, end))) {
      break;
    }
    end = start;
  }
  return text.substr(begin, end - begin);
}

}  // namespace internvl::text
