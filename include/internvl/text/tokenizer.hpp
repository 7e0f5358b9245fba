// The QLLaMA tokenizer: a SentencePiece model (libsentencepiece) plus the rules by which the official
// InternVL-C/G code turns a text into QLLaMA's input (facts sheet §3.3):
//   ids    = [BOS=1] + sp_encode("summarize:" + text)[: max_length − 2] + [EOS=2] + [PAD=0] … up to max_length=80
//   length = number of real tokens (BOS, content, EOS);  attention_mask[i] = i < length  (= ids > 0 here)
// This is what the slow transformers 4.x LlamaTokenizer (legacy=True, add_bos/eos_token=True) produces
// with max_length=80, truncation=True, padding='max_length'. Text is plain text: literal "<s>", "</s>",
// "<unk>" are encoded as characters, never as control ids (docs/tokenizer.md lists HF's differences).
// Batches are int32 ids [T, L] (L = max_length, or the longest row with Padding::longest) plus lengths [T].
#pragma once

#include <sentencepiece_processor.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "internvl/core/error.hpp"
#include "internvl/core/tensor.hpp"

namespace internvl::text {

using token_t = std::int32_t;  // a SentencePiece id; QLLaMA's vocabulary has 49,954

enum class Padding {
  max_length,  // every row has max_length ids (the InternVL-C/G HF path, padding='max_length')
  longest,     // rows are padded to the longest row of the batch (the raw InternVL-C path, padding=True)
};

// How a text becomes model input. The defaults are QLLaMA's retrieval / zero-shot rules; captioning
// uses TextFormat::captioning() (the prompt "English caption:" as is, BOS but no EOS, no padding).
// Whether decoding keeps the special pieces <unk> and [PAD] (BOS and EOS decode to nothing either way).
enum class SpecialTokens { keep, skip };

struct TextFormat {
  std::string prefix = "summarize:";  // prepended to every text before encoding, no space in between
  index_t max_length = 80;            // including BOS and EOS; longer content is cut at the end
  bool add_bos = true;
  bool add_eos = true;
  token_t bos_id = 1;
  token_t eos_id = 2;
  token_t pad_id = 0;
  Padding padding = Padding::max_length;

  // A captioning prompt, as the official evaluate_caption.py tokenizes it: BOS, no EOS, never truncated.
  static TextFormat captioning() {
    TextFormat f;
    f.prefix = "";
    f.max_length = std::numeric_limits<index_t>::max();
    f.add_eos = false;
    f.padding = Padding::longest;
    return f;
  }
};

// One formatted text: ids has max_length entries (Padding::max_length) or length entries (Padding::longest).
struct TokenizedText {
  std::vector<token_t> ids;
  std::vector<std::uint8_t> attention_mask;  // 1 for the first `length` positions, 0 for padding
  index_t length = 0;
};

// T formatted texts, row t is text t.
struct TokenizedBatch {
  Tensor<token_t, 2> ids;                  // [T, L]
  Tensor<std::uint8_t, 2> attention_mask;  // [T, L]
  std::vector<index_t> lengths;            // [T]
};

class Tokenizer {
 public:
  // Loads a SentencePiece tokenizer.model. Errors name the file: empty path, missing, not a regular file,
  // not a SentencePiece model.
  explicit Tokenizer(const std::string& model_path) : path_(model_path) {
    INTERNVL_CHECK(!model_path.empty(), "text::Tokenizer", "the tokenizer model path is empty");
    std::error_code ec;
    const auto status = std::filesystem::status(model_path, ec);
    INTERNVL_CHECK(std::filesystem::exists(status), model_path, "tokenizer model file not found");
    INTERNVL_CHECK(std::filesystem::is_regular_file(status), model_path, "tokenizer model path is not a regular file");
    const sentencepiece::util::Status loaded = sp_->Load(model_path);
    INTERNVL_CHECK(loaded.ok(), model_path, "not a SentencePiece model (", loaded.ToString(), ")");
    INTERNVL_CHECK(sp_->GetPieceSize() > 0, model_path, "SentencePiece model has no pieces");
    pad_piece_ = find_piece("[PAD]").value_or(-1);
  }

  const std::string& path() const { return path_; }
  index_t vocab_size() const { return sp_->GetPieceSize(); }

  // The piece of an id ("<s>", "▁photo", "<0xE4>").
  std::string piece(token_t id) const {
    check_id(id, "text::Tokenizer::piece");
    return sp_->IdToPiece(id);
  }

  // The id of a piece, or nothing when the vocabulary has no such piece.
  std::optional<token_t> find_piece(std::string_view piece) const {
    const int id = sp_->PieceToId(piece);
    if (sp_->IdToPiece(id) != piece) {
      return std::nullopt;
    }
    return id;
  }

  // SentencePiece ids of a UTF-8 text, no BOS/EOS (the model's own normalizer: a dummy "▁" prefix, spaces kept).
  std::vector<token_t> encode(std::string_view text) const {
    std::vector<int> ids;
    const sentencepiece::util::Status status = sp_->Encode(text, &ids);
    INTERNVL_CHECK(status.ok(), path_, "cannot encode text (", status.ToString(), ")");
    return {ids.begin(), ids.end()};
  }

  // The text of ids; control pieces (BOS, EOS) decode to nothing, the leading dummy space is dropped. With
  // SpecialTokens::skip, <unk> and [PAD] are dropped as well, as transformers' decode(skip_special_tokens=True)
  // drops the official tokenizer's special tokens (captions: evaluate_caption.py).
  std::string decode(std::span<const token_t> ids, SpecialTokens specials = SpecialTokens::keep) const {
    std::vector<int> kept;
    for (const token_t id : ids) {
      check_id(id, "text::Tokenizer::decode");
      const bool special = sp_->IsControl(id) || sp_->IsUnknown(id) || id == pad_piece_;
      if (specials == SpecialTokens::keep || !special) {
        kept.push_back(id);
      }
    }
    std::string text;
    const sentencepiece::util::Status status = sp_->Decode(kept, &text);
    INTERNVL_CHECK(status.ok(), path_, "cannot decode ids (", status.ToString(), ")");
    return text;
  }

  // QLLaMA input for one text: BOS, the encoded prefix + text truncated to fit, EOS, padding.
  TokenizedText format(std::string_view text, const TextFormat& fmt = {}) const {
    check_format(fmt);
    std::vector<token_t> ids = format_unpadded(text, fmt);
    TokenizedText out;
    out.length = static_cast<index_t>(ids.size());
    const index_t width = fmt.padding == Padding::max_length ? fmt.max_length : out.length;
    ids.resize(static_cast<std::size_t>(width), fmt.pad_id);
    out.attention_mask.assign(static_cast<std::size_t>(width), 0);
    std::fill_n(out.attention_mask.begin(), out.length, std::uint8_t{1});
    out.ids = std::move(ids);
    return out;
  }

  // QLLaMA input for T texts: ids [T, L] right-padded with pad_id, masks [T, L], lengths [T].
  TokenizedBatch format(std::span<const std::string> texts, const TextFormat& fmt = {}) const {
    check_format(fmt);
    std::vector<std::vector<token_t>> rows;
    rows.reserve(texts.size());
    index_t width = fmt.padding == Padding::max_length ? fmt.max_length : 0;
    for (const std::string& text : texts) {
      rows.push_back(format_unpadded(text, fmt));
      width = std::max(width, static_cast<index_t>(rows.back().size()));
    }
    const auto count = static_cast<index_t>(texts.size());
    TokenizedBatch out{
        Tensor<token_t, 2>({count, width}, fmt.pad_id), Tensor<std::uint8_t, 2>({count, width}, std::uint8_t{0}), {}};
    out.lengths.reserve(texts.size());
    for (index_t t = 0; t < count; ++t) {
      const std::vector<token_t>& row = rows[static_cast<std::size_t>(t)];
      std::copy(row.begin(), row.end(), out.ids.data() + t * width);
      std::fill_n(out.attention_mask.data() + t * width, row.size(), std::uint8_t{1});
      out.lengths.push_back(static_cast<index_t>(row.size()));
    }
    return out;
  }

 private:
  // [BOS] + encode(prefix + text)[: room] + [EOS], where room = max_length − (number of special tokens).
  static index_t special_count(const TextFormat& fmt) { return index_t{fmt.add_bos} + index_t{fmt.add_eos}; }

  std::vector<token_t> format_unpadded(std::string_view text, const TextFormat& fmt) const {
    std::string prefixed = fmt.prefix;
    prefixed.append(text);
    const std::vector<token_t> content = encode(prefixed);
    const auto kept = static_cast<std::size_t>(
        std::min<index_t>(fmt.max_length - special_count(fmt), static_cast<index_t>(content.size())));
    std::vector<token_t> ids;
    ids.reserve(kept + 2);
    if (fmt.add_bos) {
      ids.push_back(fmt.bos_id);
    }
    ids.insert(ids.end(), content.begin(), content.begin() + static_cast<std::ptrdiff_t>(kept));
    if (fmt.add_eos) {
      ids.push_back(fmt.eos_id);
    }
    return ids;
  }

  void check_format(const TextFormat& fmt) const {
    constexpr std::string_view where = "text::TextFormat";
    const index_t specials = special_count(fmt);
    INTERNVL_CHECK(fmt.max_length >= std::max<index_t>(specials, 1), where, "max_length is ", fmt.max_length,
                   ", it must be positive and hold the ", specials, " special token(s)");
    for (const auto& [name, id] :
         {std::pair{"bos_id", fmt.bos_id}, std::pair{"eos_id", fmt.eos_id}, std::pair{"pad_id", fmt.pad_id}}) {
      INTERNVL_CHECK(id >= 0 && id < vocab_size(), where, name, " is ", id, ", outside the vocabulary [0, ",
                     vocab_size(), ") of ", path_);
    }
  }

  void check_id(token_t id, std::string_view where) const {
    INTERNVL_CHECK(id >= 0 && id < vocab_size(), where, "id ", id, " is outside the vocabulary [0, ", vocab_size(),
                   ") of ", path_);
  }

  std::string path_;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_ =
      std::make_unique<sentencepiece::SentencePieceProcessor>();
  token_t pad_piece_ = -1;  // the id of "[PAD]" (QLLaMA's 49953), the official tokenizer's pad token; -1 if none
};

}  // namespace internvl::text
