// QLlamaConfig: the shape of QLLaMA, InternVL's language middleware (facts §2), with the field names of
// the "qllama_config" object of InternVL-14B's config.json (transformers' LlamaConfig), plus the three
// values the InternVL model hands it: num_query_token and cross_attention_frequency (top-level fields of
// config.json) and vision_hidden_size (hard-coded 3200 in modeling_qllama.py; InternViT's width).
//   head dim = hidden / heads;  cross-attention in the layers l with l % cross_attention_frequency == 0
//   parameters = V·D (embed_tokens) + L·(4D² + 3DF + 2D) + L_x·(2D² + 2·Dv·D + D + Dv) + D (norm)
//                + V·D (lm_head, unless tied)
#pragma once

#include <cstdint>
#include <string_view>

namespace internvl::config {

// QLLaMA's MLP activation: SwiGLU, down(silu(gate(x)) ⊙ up(x)).
enum class GatedAct { silu };

constexpr std::string_view name_of(GatedAct) { return "silu"; }

struct QLlamaConfig {
  int vocab_size = 49954;         // V (the Chinese-extended LLaMA tokenizer)
  int hidden_size = 4096;         // D
  int intermediate_size = 11008;  // F
  int num_hidden_layers = 32;     // L
  int num_attention_heads = 32;   // H (no grouped K/V)
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;  // RoPE base; modeling_qllama.py always uses 10000
  GatedAct hidden_act = GatedAct::silu;
  bool tie_word_embeddings = false;   // false: a separate lm_head [V, D]
  int num_query_token = 96;           // Q learned queries (InternVLConfig.num_query_token)
  int cross_attention_frequency = 2;  // InternVLConfig.cross_attention_frequency
  int vision_hidden_size = 3200;      // Dv, the width of the vision tokens cross-attention reads

  constexpr int head_dim() const { return hidden_size / num_attention_heads; }
  constexpr bool has_cross_attention(int layer) const { return layer % cross_attention_frequency == 0; }
  constexpr int cross_attention_layers() const {
    return (num_hidden_layers + cross_attention_frequency - 1) / cross_attention_frequency;
  }

  constexpr std::int64_t layer_parameter_count() const {
    const std::int64_t d = hidden_size, f = intermediate_size;
    return 4 * d * d + 3 * d * f + 2 * d;
  }
  constexpr std::int64_t cross_attention_parameter_count() const {
    const std::int64_t d = hidden_size, dv = vision_hidden_size;
    return 2 * d * d + 2 * dv * d + d + dv;
  }
  constexpr std::int64_t embedding_parameter_count() const {
    return static_cast<std::int64_t>(vocab_size) * hidden_size;
  }
  // Everything of the "qllama." prefix: embeddings, layers, cross-attention, final norm, lm_head.
  constexpr std::int64_t parameter_count() const {
    return embedding_parameter_count() * (tie_word_embeddings ? 1 : 2) + num_hidden_layers * layer_parameter_count() +
           cross_attention_layers() * cross_attention_parameter_count() + hidden_size;
  }

  // Multiply-adds count twice; norms, RoPE and element-wise work are left out.
  // Per layer on T tokens: projections 8TD², attention 4T²D, MLP 6TDF; cross-attention on the Q query
  // rows against Nv vision tokens: q/o 4QD², k/v 4·Nv·Dv·D, attention 4·Q·Nv·D.
  constexpr double flops_text(int tokens) const {
    const double t = tokens, d = hidden_size, f = intermediate_size;
    return num_hidden_layers * (8 * t * d * d + 4 * t * t * d + 6 * t * d * f);
  }
  constexpr double flops_queries(int vision_tokens) const {
    const double q = num_query_token, nv = vision_tokens, d = hidden_size, dv = vision_hidden_size;
    return flops_text(num_query_token) + cross_attention_layers() * (4 * q * d * d + 4 * nv * dv * d + 4 * q * nv * d);
  }

  friend constexpr bool operator==(const QLlamaConfig&, const QLlamaConfig&) = default;
};

// Empty when the config describes a QLLaMA we can run; otherwise the name of the offending field.
constexpr std::string_view invalid_field(const QLlamaConfig& c) {
  if (c.vocab_size < 1) return "vocab_size";
  if (c.hidden_size < 1) return "hidden_size";
  if (c.num_attention_heads < 1 || c.hidden_size % c.num_attention_heads != 0 || c.head_dim() % 2 != 0) {
    return "num_attention_heads";  // the head dim must be whole and even (RoPE rotates its halves)
  }
  if (c.intermediate_size < 1) return "intermediate_size";
  if (c.num_hidden_layers < 1) return "num_hidden_layers";
  if (!(c.rms_norm_eps > 0.0)) return "rms_norm_eps";
  if (!(c.rope_theta > 0.0)) return "rope_theta";
  if (c.num_query_token < 1) return "num_query_token";
  if (c.cross_attention_frequency < 1) return "cross_attention_frequency";
  if (c.vision_hidden_size < 1) return "vision_hidden_size";
  return {};
}

}  // namespace internvl::config
