// InternVL-G captioning (facts §2.3): the official InternVLModel.generate (use_zero_attention_mask,
// key/value cache) with Hugging Face beam search, as internvl_g/eval/evaluate_caption.py runs it
// (prompt "English caption:" without EOS, 5 beams, 8 to 30 new tokens: BeamSearchOptions' defaults).
// For pixels [B, 3, S, S] and the prompt's token ids [T] (text::TextFormat::captioning()):
//   tokens = InternViT(pixels)                    [B, 1+N, Dv]
//   cache  ← keys and values of the Q queries     positions 0..Q−1, the image path (QLlama::cache_queries)
//   logits of the prompt's last token             the prompt at positions Q..Q+T−1     [B, V]
//   each beam-search step (models/beam_search.hpp): the cache's rows follow their beams (gather), the
//   k beams' newest tokens are decoded at the next position, their logits feed the next step
// Rows of the cache and of the search are r = b·k + j (image b, beam j); the prompt runs once per
// image, on row b, and the first step spreads it to the image's k rows. On a backend whose context can
// stream weights (the cpu: Context::set_weight_streaming), the steps do, as they have a row per beam
// (up to 8 rows: one image; more rows are multiplied packed, so the last bits of a caption's scores
// can differ between one image and a batch). Every row is
// decoded until the whole batch is finished (a done image's rows decode pads), as generate does. Returns each image's
// best hypothesis: its tokens (decode them with text::Tokenizer::decode) and score.
// What the search holds besides the model (caption_memory) grows with images × beams and the new tokens;
// a request for more host memory than the machine has is refused before anything is allocated (Linux
// would grant it page by page and then kill the process).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "internvl/backend/transfer.hpp"
#include "internvl/core/memory.hpp"
#include "internvl/models/beam_search.hpp"
#include "internvl/models/internvl.hpp"

namespace internvl::models {

namespace detail {

// Weight streaming on for its lifetime, where the context has it; the setting before is restored.
template <class Backend>
class StreamedWeights {
 public:
  explicit StreamedWeights(Context<Backend>& ctx) : ctx_(ctx) {
    if constexpr (kHas) {
      before_ = ctx.weight_streaming();
      ctx.set_weight_streaming(true);
    }
  }
  ~StreamedWeights() {
    if constexpr (kHas) {
      ctx_.set_weight_streaming(before_);
    }
  }
  StreamedWeights(const StreamedWeights&) = delete;
  StreamedWeights& operator=(const StreamedWeights&) = delete;

 private:
  static constexpr bool kHas = requires(Context<Backend> & c) { c.set_weight_streaming(true); };
  Context<Backend>& ctx_;
  bool before_ = false;
};

}  // namespace detail

// The positions of a caption's key/value cache: the Q queries, the prompt's tokens and every new token but
// the last, which is never decoded.
inline index_t caption_positions(const config::QLlamaConfig& c, index_t prompt_tokens, const BeamSearchOptions& o) {
  return c.num_query_token + prompt_tokens + o.max_new_tokens - 1;
}

// The largest parts of what caption() holds for `images` images besides the model (a lower bound: the
// vision pass and each step's activations come on top), with rows = images × beams: the key/value
// cache [L layers × 2, rows, caption_positions, D] and one step's logits [rows, V] in the context's
// workspace (elements of T), and the logits on the host (f32, two at a time while a step's replace the
// last's).
struct CaptionMemory {
  double workspace_bytes = 0;  // the backend's memory: the host's for reference and cpu, the GPU's for cuda
  double host_bytes = 0;
};

template <class T>
CaptionMemory caption_memory(const config::QLlamaConfig& c, index_t images, index_t prompt_tokens,
                             const BeamSearchOptions& o) {
  const double rows = static_cast<double>(images) * static_cast<double>(o.num_beams);
  const double logits = rows * c.vocab_size;
  const double cache =
      2.0 * c.num_hidden_layers * rows * static_cast<double>(caption_positions(c, prompt_tokens, o)) * c.hidden_size;
  return {(cache + logits) * sizeof(T), 2.0 * logits * sizeof(float)};
}

template <class Backend, class T>
std::vector<Hypothesis> caption(Context<Backend>& ctx, InternVLModel<Backend, T>& model, CView<T, 4> pixels,
                                std::span<const std::int32_t> prompt, const BeamSearchOptions& options = {}) {
  const QLlama<Backend, T>& qllama = model.qllama();
  const config::QLlamaConfig& c = qllama.config();
  const index_t images = pixels.size(0), beams = options.num_beams, length = static_cast<index_t>(prompt.size());
  const index_t d = c.hidden_size, vocab = c.vocab_size;
  INTERNVL_CHECK(length > 0, "caption", "the prompt has no tokens");
  const CaptionMemory memory = caption_memory<T>(c, images, length, options);
  const double host = memory.host_bytes + (std::is_same_v<Backend, backend::cuda> ? 0.0 : memory.workspace_bytes);
  const auto limit = static_cast<double>(memory_limit_bytes());
  INTERNVL_CHECK(limit == 0 || host <= limit, "caption", images, " images x ", beams, " beams over ",
                 caption_positions(c, length, options), " positions (", options.max_new_tokens, " new tokens) need ",
                 "at least ", host / 1e9, " GB of host memory for ",
                 std::is_same_v<Backend, backend::cuda> ? "the logits" : "the key/value cache and the logits",
                 ", more than the ", limit / 1e9, " GB this process can have (the machine's memory or its cgroup's ",
                 "limit): use fewer beams, new tokens or images at a time");
  BeamSearch search(images, options);
  const index_t rows = search.rows(), prefix = c.num_query_token + length;
  auto& ws = ctx.workspace();
  auto scope = ws.scope();
  QLlamaKvCache<Backend, T> cache(ctx, c, rows, caption_positions(c, length, options));
  model.vision_tokens(ctx, pixels, [&](CView<T, 3> tokens) { qllama.cache_queries(ctx, cache, tokens); });

  Tensor<float, 2> logits(Extents<2>{rows, vocab});  // host, row r for search row r
  {                                                  // the prompt, on rows 0..B−1
    auto step = ws.scope();
    std::vector<std::int32_t> ids;
    for (index_t b = 0; b < images; ++b) {
      ids.insert(ids.end(), prompt.begin(), prompt.end());
    }
    View<T, 3> hidden = ws.template tensor<T>(Extents<3>{images, length, d});
    qllama.decode(ctx, hidden, CView<std::int32_t, 2>(ids.data(), Extents<2>{images, length}), cache);
    View<T, 2> last(hidden.data() + (length - 1) * d, Extents<2>{images, d}, Extents<2>{length * d, 1});
    View<T, 2> scores = ws.template tensor<T>(Extents<2>{images, vocab});
    qllama.logits(ctx, scores, CView<T, 2>(last));
    const Tensor<float, 2> per_image = to_host(ctx, CView<T, 2>(scores));
    for (index_t r = 0; r < rows; ++r) {
      std::copy_n(&per_image(r / beams, 0), vocab, &logits(r, 0));
    }
  }
  search.step(logits.view());
  const detail::StreamedWeights<Backend> streamed(ctx);
  for (bool first = true; !search.finished(); first = false) {
    auto step = ws.scope();
    if (first) {  // each row starts from its image's prompt row
      std::vector<std::int32_t> sources(search.sources());
      for (std::int32_t& s : sources) {
        s /= static_cast<std::int32_t>(beams);
      }
      cache.gather(ctx, sources, 0);
    } else {  // each row follows its beam; the image's queries and prompt are the same in all its rows
      cache.gather(ctx, search.sources(), prefix);
    }
    View<T, 3> hidden = ws.template tensor<T>(Extents<3>{rows, 1, d});
    qllama.decode(ctx, hidden, CView<std::int32_t, 2>(search.next_tokens().data(), Extents<2>{rows, 1}), cache);
    View<T, 2> scores = ws.template tensor<T>(Extents<2>{rows, vocab});
    qllama.logits(ctx, scores, CView<T, 2>(hidden.reshape(Extents<2>{rows, d})));
    logits = to_host(ctx, CView<T, 2>(scores));
    search.step(logits.view());
  }
  return search.results();
}

}  // namespace internvl::models
