// The weights of InternVL-C/G's heads (facts §3.1, §3.2) as views in the backend's memory: the two
// attention-pooling blocks, the text projection, the logit scale, and the ITM head (counted, unused).
// models/internvl_loader.hpp fills them.
#pragma once

#include "internvl/core/weight_view.hpp"

namespace internvl::models {

// An attention-pooling block (clip_projector, clip_projector2; facts §3.1) over tokens of width dim.
struct AttentionPoolingWeights {
  CView<float, 1> norm_q_weight, norm_q_bias;  // norm1_q [dim]
  CView<float, 1> norm_k_weight, norm_k_bias;  // norm1_k
  CView<float, 1> norm_v_weight, norm_v_bias;  // norm1_v
  WeightView<2> q, k, v;                       // cross_attn.{q,k,v}.weight [dim, dim]
  CView<float, 1> q_bias, k_bias, v_bias;      // cross_attn.{q,k,v}_bias [dim]
  WeightView<2> proj;                          // cross_attn.proj.weight [E, dim]
  CView<float, 1> proj_bias;                   // [E]
};

struct InternVLHeadWeights {
  AttentionPoolingWeights clip_projector;   // over InternViT's tokens (dim Dv)
  AttentionPoolingWeights clip_projector2;  // over QLLaMA's query outputs (dim D)
  WeightView<2> text_projection;            // [E, D]: the stored [D, E] (used as x·P), transposed at load
  float logit_scale = 0.0f;                 // the stored value; similarities are scaled by exp(logit_scale)
  WeightView<2> itm_head;                   // [2, D] image-text matching head: no inference path uses it
  CView<float, 1> itm_head_bias;            // [2]
};

}  // namespace internvl::models
