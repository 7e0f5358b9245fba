// Beam search as Hugging Face transformers 4.3x runs it (generate with num_beams > 1, do_sample=False:
// GenerationMixin.beam_search with BeamSearchScorer), on the host, for B inputs of k beams each
// (rows r = b·k + j). Each step takes the logits [B·k, V] of the rows' next token:
//   s_r(v)   = log_softmax(logits_r)(v)              f32; s_r(eos) = −∞ while fewer than
//                                                    min_new_tokens tokens were generated
//   c_r(v)   = score_r + s_r(v)                      score_r: the beam's sum of log-probabilities
//                                                    (at the first step beam 0 has 0, the others −1e9,
//                                                    so all candidates extend beam 0)
//   the 2k best (r, v) of each input, best first: an eos among the first k closes its beam as a
//   finished hypothesis with the length-normalised score c / (n + 1)^length_penalty (n tokens so far,
//   eos not kept); the first k others become the new beams (token v appended to beam r's tokens)
//   an input is done when k hypotheses are kept and the worst of them scores at least
//   best candidate / (n + 1)^length_penalty (early_stopping=False); done inputs only carry pads
// The search ends when every input is done or max_new_tokens tokens were generated; then each input's
// unfinished beams are offered as hypotheses too (score / n^length_penalty), and the best hypothesis is
// its result. Of the k best finished hypotheses (a "heap" whose worst is replaced) ties keep the
// earlier one, and the final pick takes the later of equal scores, as BeamHypotheses does; those
// normalised scores are in double (Python floats there), the beams' sums in f32.
// ref: transformers/generation/utils.py (beam_search), generation/beam_search.py (BeamSearchScorer,
//      BeamHypotheses), generation/logits_process.py (MinNewTokensLengthLogitsProcessor)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "internvl/core/error.hpp"
#include "internvl/core/tensor.hpp"

namespace internvl::models {

struct BeamSearchOptions {
  index_t num_beams = 5;  // k
  index_t max_new_tokens = 30;
  index_t min_new_tokens = 8;  // eos is banned before this many tokens
  float length_penalty = 1.0f;
  std::int32_t eos_id = 2;
  std::int32_t pad_id = 0;
};

// One input's result: the generated tokens (eos not included) and their score (the sum of the tokens'
// log-probabilities over length^length_penalty, the length counting a closing eos).
struct Hypothesis {
  std::vector<std::int32_t> tokens;
  double score = 0.0;  // in double, as the Python floats BeamHypotheses computes it in
};

class BeamSearch {
 public:
  BeamSearch(index_t inputs, const BeamSearchOptions& options) : options_(options), inputs_(inputs) {
    const BeamSearchOptions& o = options_;
    INTERNVL_CHECK(inputs > 0, "beam search", "needs at least one input");
    INTERNVL_CHECK(o.num_beams >= 1, "beam search", "num_beams must be at least 1, got ", o.num_beams);
    INTERNVL_CHECK(o.max_new_tokens >= 1, "beam search", "max_new_tokens must be at least 1, got ", o.max_new_tokens);
    INTERNVL_CHECK(o.min_new_tokens >= 0 && o.min_new_tokens <= o.max_new_tokens, "beam search", "min_new_tokens (",
                   o.min_new_tokens, ") must lie in [0, max_new_tokens = ", o.max_new_tokens, "]");
    INTERNVL_CHECK(o.eos_id >= 0 && o.pad_id >= 0, "beam search", "eos_id (", o.eos_id, ") and pad_id (", o.pad_id,
                   ") must be token ids, not negative");
    scores_.assign(static_cast<std::size_t>(rows()), 0.0f);
    for (index_t r = 0; r < rows(); ++r) {
      if (r % o.num_beams != 0) {
        scores_[static_cast<std::size_t>(r)] = -1e9f;
      }
    }
    tokens_.assign(static_cast<std::size_t>(rows()), {});
    finished_.assign(static_cast<std::size_t>(inputs), {});
    done_.assign(static_cast<std::size_t>(inputs), false);
  }

  index_t rows() const { return inputs_ * options_.num_beams; }
  index_t generated() const { return generated_; }
  // True once every input is done or max_new_tokens tokens were generated.
  bool finished() const {
    return generated_ >= options_.max_new_tokens || std::all_of(done_.begin(), done_.end(), [](bool d) { return d; });
  }
  // After a step: row r's new token, and the row whose tokens (and cached keys and values) it extends.
  const std::vector<std::int32_t>& next_tokens() const { return next_tokens_; }
  const std::vector<std::int32_t>& sources() const { return sources_; }

  // One step from the logits [rows(), V] of every row's next token.
  void step(CView<float, 2> logits) {
    INTERNVL_CHECK(!finished(), "beam search", "step after the search finished");
    INTERNVL_CHECK(logits.size(0) == rows() && logits.size(1) >= 2 && options_.eos_id < logits.size(1), "beam search",
                   "logits have shape ", shape_string(logits), ", expected [", rows(), ", V] with V > eos id ",
                   options_.eos_id);
    const index_t k = options_.num_beams, vocab = logits.size(1);
    next_tokens_.assign(static_cast<std::size_t>(rows()), options_.pad_id);
    sources_.resize(static_cast<std::size_t>(rows()));
    std::vector<float> next_scores(static_cast<std::size_t>(rows()), 0.0f);
    std::vector<float> log_probs(static_cast<std::size_t>(vocab));
    for (index_t b = 0; b < inputs_; ++b) {
      if (done_[static_cast<std::size_t>(b)]) {  // pads, each row extending the input's beam 0
        for (index_t j = 0; j < k; ++j) {
          sources_[static_cast<std::size_t>(b * k + j)] = static_cast<std::int32_t>(b * k);
        }
        continue;
      }
      std::vector<Candidate> candidates;  // the 2k best of each beam hold the 2k best of the input
      for (index_t j = 0; j < k; ++j) {
        const index_t r = b * k + j;
        log_softmax(logits[r], log_probs);
        if (generated_ < options_.min_new_tokens) {
          log_probs[static_cast<std::size_t>(options_.eos_id)] = -std::numeric_limits<float>::infinity();
        }
        add_best_of_row(candidates, log_probs, scores_[static_cast<std::size_t>(r)], static_cast<std::int32_t>(r),
                        2 * k);
      }
      keep_best(candidates, 2 * k);
      Finished& hyps = finished_[static_cast<std::size_t>(b)];
      index_t beam = 0;
      for (std::size_t rank = 0; rank < candidates.size() && beam < k; ++rank) {
        const Candidate& c = candidates[rank];
        if (c.token == options_.eos_id) {
          if (static_cast<index_t>(rank) < k) {
            hyps.add(tokens_[static_cast<std::size_t>(c.row)], c.score, generated_ + 1, options_);
          }
          continue;
        }
        const auto r = static_cast<std::size_t>(b * k + beam);
        next_scores[r] = c.score;
        next_tokens_[r] = c.token;
        sources_[r] = c.row;
        ++beam;
      }
      INTERNVL_CHECK(beam == k, "beam search", "input ", b, ": fewer than ", k, " candidates other than eos");
      done_[static_cast<std::size_t>(b)] = hyps.is_done(candidates.front().score, generated_ + 1, options_);
    }
    std::vector<std::vector<std::int32_t>> extended(static_cast<std::size_t>(rows()));
    for (std::size_t r = 0; r < extended.size(); ++r) {
      extended[r] = tokens_[static_cast<std::size_t>(sources_[r])];
      extended[r].push_back(next_tokens_[r]);
    }
    tokens_ = std::move(extended);
    scores_ = std::move(next_scores);
    ++generated_;
  }

  // The best hypothesis of each input, once finished().
  std::vector<Hypothesis> results() const {
    INTERNVL_CHECK(finished(), "beam search", "results before the search finished");
    std::vector<Hypothesis> best;
    for (index_t b = 0; b < inputs_; ++b) {
      Finished hyps = finished_[static_cast<std::size_t>(b)];
      if (!done_[static_cast<std::size_t>(b)]) {
        for (index_t j = 0; j < options_.num_beams; ++j) {
          const auto r = static_cast<std::size_t>(b * options_.num_beams + j);
          hyps.add(tokens_[r], scores_[r], generated_, options_);
        }
      }
      const auto pick = std::max_element(hyps.kept.rbegin(), hyps.kept.rend(),
                                         [](const Hypothesis& x, const Hypothesis& y) { return x.score < y.score; });
      best.push_back(*pick);
    }
    return best;
  }

 private:
  struct Candidate {
    float score;
    std::int32_t token;
    std::int32_t row;
  };

  // The k best finished hypotheses of one input (BeamHypotheses).
  struct Finished {
    std::vector<Hypothesis> kept;  // in the order they were added
    double worst = 1e9;

    void add(const std::vector<std::int32_t>& tokens, float sum_log_probs, index_t length, const BeamSearchOptions& o) {
      const double score = sum_log_probs / std::pow(static_cast<double>(length), o.length_penalty);
      if (static_cast<index_t>(kept.size()) < o.num_beams || score > worst) {
        kept.push_back({tokens, score});
        if (static_cast<index_t>(kept.size()) > o.num_beams) {
          const auto dropped = std::min_element(
              kept.begin(), kept.end(), [](const Hypothesis& x, const Hypothesis& y) { return x.score < y.score; });
          kept.erase(dropped);
          worst = std::min_element(kept.begin(), kept.end(), [](const Hypothesis& x, const Hypothesis& y) {
                    return x.score < y.score;
                  })->score;
        } else {
          worst = std::min(score, worst);
        }
      }
    }

    bool is_done(float best_candidate, index_t length, const BeamSearchOptions& o) const {
      if (static_cast<index_t>(kept.size()) < o.num_beams) {
        return false;
      }
      return worst >= best_candidate / std::pow(static_cast<double>(length), o.length_penalty);
    }
  };

  // Appends the `count` best candidates of row r (score base + log_probs[v]) to c, in one pass over the
  // vocabulary that keeps them sorted, best first.
  static void add_best_of_row(std::vector<Candidate>& c, const std::vector<float>& log_probs, float base,
                              std::int32_t r, index_t count) {
    const std::size_t first = c.size(), most = static_cast<std::size_t>(count);
    for (std::size_t v = 0; v < log_probs.size(); ++v) {
      const float score = base + log_probs[v];
      if (c.size() - first == most && !(score > c.back().score)) {
        continue;
      }
      if (c.size() - first == most) {
        c.pop_back();
      }
      auto at = c.end();
      while (at != c.begin() + static_cast<std::ptrdiff_t>(first) && (at - 1)->score < score) {
        --at;
      }
      c.insert(at, {score, static_cast<std::int32_t>(v), r});
    }
  }

  // The `count` best candidates, best first.
  static void keep_best(std::vector<Candidate>& c, index_t count) {
    const auto n = std::min(static_cast<std::size_t>(count), c.size());
    std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(n), c.end(),
                      [](const Candidate& x, const Candidate& y) { return x.score > y.score; });
    c.resize(n);
  }

  // out = x − max − log Σ exp(x − max), as torch.log_softmax in f32 (the sum accumulated in double).
  static void log_softmax(CView<float, 1> x, std::vector<float>& out) {
    float top = -std::numeric_limits<float>::infinity();
    for (index_t v = 0; v < x.size(0); ++v) {
      top = std::max(top, x(v));
    }
    double sum = 0.0;
    for (index_t v = 0; v < x.size(0); ++v) {
      sum += std::exp(static_cast<double>(x(v) - top));
    }
    const auto log_sum = static_cast<float>(std::log(sum));
    for (index_t v = 0; v < x.size(0); ++v) {
      out[static_cast<std::size_t>(v)] = x(v) - top - log_sum;
    }
  }

  BeamSearchOptions options_;
  index_t inputs_;
  index_t generated_ = 0;
  std::vector<float> scores_;                      // [rows] each beam's sum of log-probabilities
  std::vector<std::vector<std::int32_t>> tokens_;  // [rows] each beam's tokens
  std::vector<Finished> finished_;                 // [inputs]
  std::vector<bool> done_;                         // [inputs]
  std::vector<std::int32_t> next_tokens_, sources_;
};

}  // namespace internvl::models
