// How the example programs hand a backend's task many images: a source of batches of normalised pixels
// (or of whole images, for segmentation) and a sink for each one's results, so that a task loads its
// model once and memory holds one batch (support/image_batches.hpp makes the pixel batches from the
// command line). Free of host-only headers: the CUDA tasks (tasks_cuda.cu) compile it with nvcc.
#pragma once

#include <functional>
#include <optional>

#include "internvl/core/tensor.hpp"
#include "internvl/io/pixels.hpp"

namespace internvl::examples {

// The next batch of normalised pixels [B, 3, S, S] (B >= 1, valid until the next call), or nothing when
// every image has been given.
using PixelBatches = std::function<std::optional<CView<float, 4>>()>;
// Receives the L2-normalised image embeddings [B, E] of each batch, in the batches' order.
using ImageEmbeddingSink = std::function<void(CView<float, 2>)>;
// Receives the class logits [B, K] of each batch, in the batches' order.
using ClassLogitsSink = std::function<void(CView<float, 2>)>;

// The next RGB image [H, W, 3] (valid until the next call), or nothing when every image has been given.
using ImageSource = std::function<std::optional<io::ImageView>()>;
// Receives the logits [K, H, W] of each image, in the images' order.
using LogitsSink = std::function<void(CView<float, 3>)>;

}  // namespace internvl::examples
