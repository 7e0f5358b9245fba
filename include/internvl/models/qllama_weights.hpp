// The weights of QLLaMA (facts §2.4, names under "qllama.", plus the learned queries) as views in the backend's memory:
// matrices zero-copy in their stored dtype, norm weights as f32 vectors. models/internvl_loader.hpp fills them.
#pragma once

#include <optional>
#include <vector>

#include "internvl/core/weight_view.hpp"
#include "internvl/models/vision_weights.hpp"

namespace internvl::models {

// cross_attn.* of an even layer: the queries (D wide) read the vision tokens (Dv wide).
struct QLlamaCrossAttentionWeights {
  CView<float, 1> norm1;         // [D]  RMSNorm of the query rows
  CView<float, 1> norm2;         // [Dv] RMSNorm of the vision tokens
  WeightView<2> q_proj, o_proj;  // [D, D]
  WeightView<2> k_proj, v_proj;  // [D, Dv]
};

struct QLlamaLayerWeights {
  CView<float, 1> input_layernorm;                        // [D]
  QkvWeights qkv;                                         // self_attn.{q,k,v}_proj [D, D] each, no bias
  WeightView<2> o_proj;                                   // [D, D]
  std::optional<QLlamaCrossAttentionWeights> cross_attn;  // layers l % cross_attention_frequency == 0
  CView<float, 1> post_attention_layernorm;               // [D]
  WeightView<2> gate_proj, up_proj;                       // [F, D]
  WeightView<2> down_proj;                                // [D, F]
};

struct QLlamaWeights {
  WeightView<2> query_tokens;  // [Q, D] the learned queries (query_tokens [1, Q, D], top level of the checkpoint)
  WeightView<2> embed_tokens;  // [V, D]
  std::vector<QLlamaLayerWeights> layers;
  CView<float, 1> norm;   // [D] the final RMSNorm
  WeightView<2> lm_head;  // [V, D] the next-token logits (captioning); embed_tokens when tie_word_embeddings
};

}  // namespace internvl::models
