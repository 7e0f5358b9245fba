// The fixed-size pipelines of InternVL-C/G evaluation and linear probing (facts 4.1), from pixels or files to
// model input (S is the model's image size, 224 or 448):
//   classification: Resize(S, BICUBIC) → CenterCrop(S) → ToTensor → Normalize(ImageNet)   (zero-shot, probing)
//   retrieval:      Resize((S, S), BICUBIC) → ToTensor → Normalize(ImageNet)               (squash, no crop)
//   clip_processor: transformers' CLIPImageProcessor (shortest edge S, crop S, bicubic, ImageNet mean and std),
//                   as the official video retrieval (video_retrieval/test_msrvtt.py) and the model cards
//                   preprocess: classification's pixels but for the crop's offset, (size − S) // 2
// Each returns [3, S, S]; load_batch reads image files into one [B, 3, S, S] batch.
#pragma once

#include <string>
#include <vector>

#include "internvl/io/image.hpp"
#include "internvl/io/normalize.hpp"
#include "internvl/io/resize_bicubic.hpp"
#include "internvl/io/transforms.hpp"

namespace internvl::io {

enum class Pipeline { classification, retrieval, clip_processor };

// The 8-bit [S, S, 3] image a pipeline feeds to its normalisation.
inline Image pipeline_pixels(ImageView image, Pipeline pipeline, index_t size,
                             PillowPassOrder order = PillowPassOrder::horizontal_first) {
  INTERNVL_CHECK(size > 0, "io::pipeline_pixels", "image size must be positive, got ", size);
  if (pipeline == Pipeline::retrieval) {
    return resize_bicubic_pillow(image, size, size, order);
  }
  const Image resized = resize_shorter_side(image, size, order);
  return center_crop(resized.view(), {size, size},
                     pipeline == Pipeline::clip_processor ? CropRounding::floor : CropRounding::half_to_even);
}

inline Tensor<float, 3> classification(ImageView image, index_t size,
                                       PillowPassOrder order = PillowPassOrder::horizontal_first) {
  return normalize_to_chw(pipeline_pixels(image, Pipeline::classification, size, order).view(),
                          imagenet_normalization());
}

inline Tensor<float, 3> retrieval(ImageView image, index_t size,
                                  PillowPassOrder order = PillowPassOrder::horizontal_first) {
  return normalize_to_chw(pipeline_pixels(image, Pipeline::retrieval, size, order).view(), imagenet_normalization());
}

// Reads each file, runs the pipeline and stacks the results: [paths.size(), 3, size, size].
inline Tensor<float, 4> load_batch(const std::vector<std::string>& paths, Pipeline pipeline, index_t size,
                                   PillowPassOrder order = PillowPassOrder::horizontal_first) {
  INTERNVL_CHECK(!paths.empty(), "io::load_batch", "no image files given");
  Tensor<float, 4> batch(Extents<4>{static_cast<index_t>(paths.size()), 3, size, size});
  for (std::size_t b = 0; b < paths.size(); ++b) {
    preprocess_file(paths[b], [&](ImageView image) {
      const Image pixels = pipeline_pixels(image, pipeline, size, order);
      normalize_to_chw(batch.view()[static_cast<index_t>(b)], pixels.view(), imagenet_normalization());
    });
  }
  return batch;
}

}  // namespace internvl::io
