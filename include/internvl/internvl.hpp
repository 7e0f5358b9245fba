// The umbrella for host code: every header that needs neither nvcc nor libsentencepiece.
//   core      tensors and views, weights, workspace, thread pool, errors
//   config    the compiled presets and config.json parsing (Boost.Hana)
//   backends  reference (the oracle) and cpu, with every op; moving tensors to a backend and back
//   io        .npy, safetensors and model directories, images and label masks, preprocessing, tiling
//   models    InternViT (load_intern_vit / with_intern_vit), the chat projector, InternVL-C/G, retrieval
//   heads     the classification probes and top-k accuracy, the segmentation heads with mmseg's
//             evaluation and its scores
// Not here: text/tokenizer.hpp and models/zero_shot.hpp (link libsentencepiece), and the CUDA backend
// (internvl/cuda.hpp, for nvcc). Including a narrower header compiles faster.
#pragma once

#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"
#include "internvl/backend/transfer.hpp"
#include "internvl/heads/attention_pool_probe.hpp"
#include "internvl/heads/classification_head.hpp"
#include "internvl/heads/head_file.hpp"
#include "internvl/heads/linear_probe.hpp"
#include "internvl/heads/segmentation_metrics.hpp"
#include "internvl/heads/segmenter.hpp"
#include "internvl/heads/top_k.hpp"
#include "internvl/heads/top_k_accuracy.hpp"
#include "internvl/io/image.hpp"
#include "internvl/io/label_mask.hpp"
#include "internvl/io/npy.hpp"
#include "internvl/io/preprocess.hpp"
#include "internvl/io/tiling.hpp"
#include "internvl/models/chat_projector.hpp"
#include "internvl/models/load_internvl.hpp"
#include "internvl/models/load_intern_vit.hpp"
#include "internvl/models/retrieval.hpp"
