// What the attention kernels receive: raw pointers and element strides of Q, K, V, O ([B, S, H, Dh],
// unit stride along Dh, so Q/K/V may be views into one packed QKV buffer) and of the key mask
// ([B, Sk], nonzero = visible, or null), the sizes and the options of ops::attention.
#pragma once

#include <cstdint>

#include "internvl/core/tensor_view.hpp"

namespace internvl::cuda {

struct AttentionParams {
  const void* q;
  const void* k;
  const void* v;
  void* out;
  index_t q_batch, q_seq, q_head;
  index_t k_batch, k_seq, k_head;
  index_t v_batch, v_seq, v_head;
  index_t o_batch, o_seq, o_head;
  const std::uint8_t* key_mask;
  index_t mask_batch, mask_seq;
  int queries;
  int keys;
  int head_dim;
  float scale;
  bool causal;
};

}  // namespace internvl::cuda
