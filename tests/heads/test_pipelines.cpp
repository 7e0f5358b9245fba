// Heads bound to a backbone (tests/golden/heads/make.py, with the tiny 6B-style InternViT of
// tests/golden/vision run by transformers): a probe on an inner block and on the last one, mmseg's
// sliding-window inference over 3 x 4 windows, and the whole segmentation procedure on a PNG (resize,
// normalisation, slide or whole, resize back, argmax) with a UperNet head; the binding errors.
#include <catch2/catch.hpp>

#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"
#include "internvl/heads/classification_head.hpp"
#include "internvl/heads/segmenter.hpp"
#include "internvl/io/npy.hpp"
#include "internvl/models/load_intern_vit.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

std::string golden(const std::string& name) { return testing::golden_path("heads/" + name); }

template <class Backend>
auto tiny_backbone() {
  return models::load_intern_vit<presets::TinyViT6BStyle, Backend>(testing::golden_path("vision/tiny6b_orig_f32"));
}

template <class Backend>
void check_probe() {
  Context<Backend> ctx;
  auto model = tiny_backbone<Backend>();
  const auto pixels = io::read_npy_f32<4>(testing::golden_path("vision/pixels_native.npy"));
  for (const std::string name : {"probe_e2e", "probe_e2e_last"}) {
    INFO(name);
    const heads::ClassificationHead<Backend> head(golden(name + ".safetensors"), model.config());
    REQUIRE(head.block() == (name == "probe_e2e" ? 1 : 2));
    const auto expected = io::read_npy_f32<2>(
        golden(name == "probe_e2e" ? "probe_e2e_probabilities.npy" : "probe_e2e_last_probabilities.npy"));
    const Tensor<float, 2> probabilities = head.probabilities(ctx, model, pixels.view());
    CHECK(testing::relative_l2(probabilities.view(), expected.view()) <= 1e-5);
  }
}

template <class Backend>
void check_slide() {
  Context<Backend> ctx;
  auto model = tiny_backbone<Backend>();
  const heads::SegmentationHead<Backend> head(golden("slide.safetensors"), model.config());
  const auto pixels = io::read_npy_f32<4>(golden("slide_pixels.npy"));
  const auto expected = io::read_npy_f32<3>(golden("slide_logits.npy"));
  const Tensor<float, 3> logits = heads::segmentation_logits(ctx, model, head, pixels.view(), heads::Inference::slide);
  CHECK(testing::relative_l2(logits.view(), expected.view()) <= 1e-5);
}

template <class Backend>
void check_segment() {
  Context<Backend> ctx;
  auto model = tiny_backbone<Backend>();
  const heads::SegmentationHead<Backend> head(golden("segment.safetensors"), model.config());
  const io::Image image = io::read_image(golden("segment_image.png"));
  const Tensor<float, 3> logits = heads::segment(ctx, model, head, image.view(), heads::Inference::slide);
  const auto expected = io::read_npy_f32<3>(golden("segment_logits.npy"));
  CHECK(testing::relative_l2(logits.view(), expected.view()) <= 1e-5);
  const auto classes = heads::argmax_classes(logits.view());
  const auto expected_classes = io::read_npy_f32<2>(golden("segment_classes.npy"));
  index_t differ = 0;
  for (index_t i = 0; i < classes.numel(); ++i) {
    differ += classes.data()[i] != static_cast<std::int32_t>(expected_classes.data()[i]);
  }
  CHECK(differ == 0);
  const Tensor<float, 3> whole = heads::segment(ctx, model, head, image.view(), heads::Inference::whole);
  CHECK(testing::relative_l2(whole.view(), io::read_npy_f32<3>(golden("segment_whole_logits.npy")).view()) <= 1e-5);
}

}  // namespace

TEST_CASE("a probe on a backbone block matches PyTorch + transformers", "[pipelines]") {
  check_probe<backend::reference>();
  check_probe<backend::cpu>();
}

TEST_CASE("sliding-window inference matches mmseg's procedure over 3 x 4 windows", "[pipelines]") {
  check_slide<backend::reference>();
  check_slide<backend::cpu>();
}

TEST_CASE("segmenting a PNG (resize, slide or whole, resize back, argmax) matches the Python pipeline", "[pipelines]") {
  check_segment<backend::reference>();
  check_segment<backend::cpu>();
}

TEST_CASE("binding a head to a backbone checks its type, blocks and width", "[pipelines]") {
  auto model = tiny_backbone<backend::cpu>();
  using Classification = heads::ClassificationHead<backend::cpu>;
  using Segmentation = heads::SegmentationHead<backend::cpu>;
  REQUIRE_THROWS_WITH(Classification(golden("slide.safetensors"), model.config()),
                      Catch::Contains("slide.safetensors: a seg_linear head is a segmentation head"));
  REQUIRE_THROWS_WITH(Segmentation(golden("probe_e2e.safetensors"), model.config()),
                      Catch::Contains("probe_e2e.safetensors: a linear_probe head is a classification head"));
  auto small = models::load_intern_vit<presets::TinyViT300MStyle, backend::cpu>(
      testing::golden_path("vision/tiny300m_orig_f32"));  // 2 blocks, width 48
  REQUIRE_THROWS_WITH(
      Segmentation(golden("segment.safetensors"), small.config()),
      Catch::Contains("segment.safetensors: the head reads block 2 but the backbone has only 2 blocks"));
  REQUIRE_THROWS_WITH(
      Classification(golden("probe_e2e.safetensors"), small.config()),
      Catch::Contains("probe_e2e.safetensors: tensor 'norm.running_mean' has shape [128], expected [96]"));
}
