// One QLLaMA decoder layer (facts §2.2), updating x [B·T, D] (B sequences of T tokens) in place:
//   x ← x + SelfAttn(RMSNorm_in(x))                      RoPE; mask as given
//   x ← x + CrossAttn(x, vis)                            only in cross-attention layers and only when
//                                                        vision tokens are given: the image path, where
//                                                        the sequences are the Q queries alone
//   x ← x + MLP(RMSNorm_post(x))
// With a key/value cache the self-attention also reads the cached positions and appends this call's
// (layers/qllama_attention.hpp).
// ref: OpenGVLab/InternVL modeling_qllama.py, LlamaDecoderLayer.forward
#pragma once

#include "internvl/layers/qllama_attention.hpp"
#include "internvl/layers/qllama_cross_attention.hpp"
#include "internvl/layers/qllama_mlp.hpp"
#include "internvl/ops/add.hpp"

namespace internvl::layers {

// vis: [B·Nv, Dv] vision tokens, or empty for the text path; cache: this layer's, or none.
template <class Backend, class T>
void qllama_block(Context<Backend>& ctx, const config::QLlamaConfig& c, const models::QLlamaLayerWeights& w,
                  View<T, 2> x, index_t batch, const ops::AttentionOptions& mask, CView<T, 2> vis,
                  const KvCacheSlot<T>* cache = nullptr) {
  const auto eps = static_cast<float>(c.rms_norm_eps);
  auto& ws = ctx.workspace();
  auto scope = ws.scope();
  View<T, 2> h = ws.template tensor<T>(x.shape());       // [B·T, D] normed input of a branch
  View<T, 2> branch = ws.template tensor<T>(x.shape());  // [B·T, D] branch output
  {                                                      // self-attention branch
    ops::rms_norm(ctx, h, CView<T, 2>(x), w.input_layernorm, eps);
    qllama_self_attention(ctx, c, w, branch, CView<T, 2>(h), batch, mask, cache);
    ops::add(ctx, x, CView<T, 2>(x), CView<T, 2>(branch));
  }
  if (w.cross_attn && vis.data() != nullptr) {  // the queries read the image
    qllama_cross_attention(ctx, c, *w.cross_attn, x, vis, batch);
  }
  {  // MLP branch
    ops::rms_norm(ctx, h, CView<T, 2>(x), w.post_attention_layernorm, eps);
    qllama_mlp(ctx, w, branch, CView<T, 2>(h));
    ops::add(ctx, x, CView<T, 2>(x), CView<T, 2>(branch));
  }
}

}  // namespace internvl::layers
