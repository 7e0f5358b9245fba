// The weights of an InternViT encoder as views in the backend's memory (on the host: straight into
// the memory-mapped checkpoint for matrices). Vectors and tables are f32 on every backend. Names follow the original
// checkpoints (facts §1.5); models/vision_loader.hpp fills this from either naming scheme.
#pragma once

#include <vector>

#include "internvl/core/weight_view.hpp"

namespace internvl::models {

// W_qkv [3D, D] as stored: one packed matrix (original naming) or q, k, v [D, D] (transformers
// naming); row blocks in the order q, k, v. The bias is [3D] or empty.
struct QkvWeights {
  std::vector<WeightView<2>> parts;
  CView<float, 1> bias;
};

struct VisionLayerWeights {
  CView<float, 1> norm1_weight, norm1_bias;  // bias empty for RMSNorm
  QkvWeights qkv;
  CView<float, 1> q_norm, k_norm;  // [D] each; empty without qk_normalization
  WeightView<2> proj;          // [D, D]
  CView<float, 1> proj_bias;
  CView<float, 1> ls1;             // LayerScale γ₁ [D]
  CView<float, 1> norm2_weight, norm2_bias;
  WeightView<2> fc1;           // [F, D]
  CView<float, 1> fc1_bias;
  WeightView<2> fc2;           // [D, F]
  CView<float, 1> fc2_bias;
  CView<float, 1> ls2;
};

struct VisionWeights {
  WeightView<2> patch_weight;     // the Conv2d kernel [D, C, P, P] viewed as [D, C·P·P]
  CView<float, 1> patch_bias;         // [D]
  CView<float, 1> class_embedding;    // [D]
  CView<float, 2> position_embedding; // [1 + G0², D] for the native grid G0
  std::vector<VisionLayerWeights> layers;
};

}  // namespace internvl::models
