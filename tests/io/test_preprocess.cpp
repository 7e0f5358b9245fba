// Resizing and the fixed-size pipelines against the Python libraries (fixtures: tests/golden/image/make.py):
// Pillow's bicubic in both pass orders, OpenCV's INTER_LINEAR, torchvision's ToTensor + Normalize, Resize,
// CenterCrop, the classification / retrieval pipelines, transformers' CLIPImageProcessor (make_clip_processor.py),
// and MMSegmentation's test-time resize + normalisation.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "internvl/io/preprocess.hpp"
#include "internvl/io/resize_bilinear.hpp"
#include "internvl/io/segmentation_input.hpp"
#include "pixel_fixtures.hpp"

using namespace internvl;
using testing::image_fixture;
using testing::image_manifest;

namespace {

void report(const std::string& what, const testing::PixelDiff& d, index_t cases) {
  std::cout << what << ": " << cases << " cases, " << d.total << " values, max |diff| " << d.max << " levels, "
            << d.differing << " differ\n";
}

}  // namespace

TEST_CASE("bicubic resize matches Pillow's Image.resize(BICUBIC) in both pass orders", "[resize]") {
  testing::PixelDiff all;
  index_t cases = 0;
  for (const auto& c : image_manifest()["resize_bicubic"]) {
    const io::Image input = testing::fixture_input(c["input"]);
    const index_t w = c["width"];
    const index_t h = c["height"];
    INFO(c["input"].get<std::string>() << " -> " << w << "x" << h);
    const nlohmann::json& horizontal = c["horizontal_first"];
    const nlohmann::json& vertical = c.contains("vertical_first") ? c["vertical_first"] : horizontal;
    // Pillow 13 goes vertical first only when the height shrinks by more than twice what the width shrinks.
    const bool pillow13_vertical = h < input.size(0) && input.size(0) - h > 2 * (input.size(1) - w);
    for (const auto& [order, expected] : {std::pair{io::PillowPassOrder::horizontal_first, horizontal},
                                          std::pair{io::PillowPassOrder::pillow13,
                                                    pillow13_vertical ? vertical : horizontal}}) {
      const io::Image out = io::resize_bicubic_pillow(input.view(), w, h, order);
      const testing::PixelDiff d = testing::compare_pixels(out, expected);
      REQUIRE(d.same_shape);
      REQUIRE(d.max == 0);
      all.add(d);
      ++cases;
    }
  }
  report("Pillow bicubic", all, cases);
}

TEST_CASE("bicubic resize reads strided views and any channel count", "[resize]") {
  const io::Image input = testing::fixture_input("square_64x64");
  const CView<std::uint8_t, 3> crop = input.view().slice(0, 5, 50).slice(1, 3, 60);
  const io::Image dense = io::copy_image(crop);
  const io::Image a = io::resize_bicubic_pillow(crop, 20, 31);
  const io::Image b = io::resize_bicubic_pillow(dense.view(), 20, 31);
  REQUIRE(std::equal(a.data(), a.data() + a.numel(), b.data()));
  const io::Image red = io::resize_bicubic_pillow(input.view().slice(2, 0, 1), 20, 31);
  for (index_t y = 0; y < 31; ++y) {
    for (index_t x = 0; x < 20; ++x) REQUIRE(red(y, x, 0) == io::resize_bicubic_pillow(input.view(), 20, 31)(y, x, 0));
  }
  REQUIRE_THROWS_WITH(io::resize_bicubic_pillow(input.view(), 0, 5), Catch::Contains("output size must be positive"));
  const io::Image five(Extents<3>{4, 4, 5}, 0);
  REQUIRE_THROWS_WITH(io::resize_bicubic_pillow(five.view(), 2, 2), Catch::Contains("1 to 4 channels, got 5"));
  // An axis of 10^8 samples needs a larger filter table than Pillow allows, whatever the output size
  // (one pixel repeated by zero strides: the view takes no memory).
  const std::uint8_t pixel = 9;
  const CView<std::uint8_t, 3> long_row(&pixel, Extents<3>{1, 100'000'000, 3}, Extents<3>{0, 0, 0});
  REQUIRE_THROWS_WITH(io::resize_bicubic_pillow(long_row, 1000, 1),
                      Catch::Contains("resizing 100000000 samples to 1000 takes 400001 taps each"));
}

TEST_CASE("bilinear resize matches cv2.resize(INTER_LINEAR), exact 2x reductions included", "[resize]") {
  testing::PixelDiff all;
  index_t cases = 0;
  for (const auto& c : image_manifest()["resize_bilinear"]) {
    const io::Image input = testing::fixture_input(c["input"]);
    const index_t w = c["width"];
    const index_t h = c["height"];
    INFO(c["input"].get<std::string>() << " -> " << w << "x" << h);
    const testing::PixelDiff d = testing::compare_pixels(io::resize_bilinear_opencv(input.view(), w, h), c["expected"]);
    REQUIRE(d.same_shape);
    REQUIRE(d.max == 0);
    all.add(d);
    ++cases;
  }
  report("OpenCV INTER_LINEAR", all, cases);
  const io::Image input = testing::fixture_input("small_37x23");
  REQUIRE_THROWS_WITH(io::resize_bilinear_opencv(input.view(), 4, -1), Catch::Contains("io::resize_bilinear_opencv"));
}

TEST_CASE("normalisation tables equal torchvision's and mmcv's float32 results", "[normalize]") {
  // A [1, 256, 3] ramp of every level in every channel.
  io::Image ramp(Extents<3>{1, 256, 3});
  for (index_t v = 0; v < 256; ++v) {
    for (index_t c = 0; c < 3; ++c) ramp(0, v, c) = static_cast<std::uint8_t>(v);
  }
  const Tensor<float, 3> tv = io::normalize_to_chw(ramp.view(), io::imagenet_normalization());
  const Tensor<float, 3> mm = io::normalize_to_chw(ramp.view(), io::mmseg_normalization());
  const double tv_err = testing::max_abs_diff(tv, image_manifest()["normalize_torchvision"]);
  const double mm_err = testing::max_abs_diff(mm, image_manifest()["normalize_mmcv"]);
  std::cout << "normalisation: max |diff| torchvision " << tv_err << ", mmcv " << mm_err << "\n";
  REQUIRE(tv_err == 0.0);
  REQUIRE(mm_err == 0.0);

  Tensor<float, 3> wrong(Extents<3>{3, 2, 256});
  REQUIRE_THROWS_WITH(io::normalize_to_chw(wrong.view(), ramp.view(), io::imagenet_normalization()),
                      Catch::Contains("does not match image [1, 256, 3]"));
}

TEST_CASE("Resize(s) sizes and CenterCrop offsets follow torchvision", "[transforms]") {
  for (const auto& r : image_manifest()["resize_shorter_side"]) {
    const io::ImageSize size = io::resized_shorter_side({r[0], r[1]}, r[2]);
    INFO(r.dump());
    REQUIRE(size == io::ImageSize{r[3], r[4]});
  }
  for (const auto& c : image_manifest()["center_crop"]) {
    INFO(c.dump());
    const io::NpyArray src = testing::read_u8(c["input"]);
    io::Image input(Extents<3>{src.shape[0], src.shape[1], src.shape[2]});
    std::memcpy(input.data(), src.bytes.data(), src.bytes.size());
    const io::Image out = io::center_crop(input.view(), {c["crop_width"], c["crop_height"]});
    REQUIRE(testing::compare_pixels(out, {{"file", c["expected"]}}).max == 0);
  }
  REQUIRE(io::center_crop_offset(10, 5) == 2);   // round(2.5) = 2
  REQUIRE(io::center_crop_offset(13, 4) == 4);   // round(4.5) = 4
  REQUIRE(io::center_crop_offset(12, 5) == 4);   // round(3.5) = 4
  REQUIRE(io::center_crop_offset(4, 7) == -1);   // pad (7 - 4) // 2 = 1 before
}

TEST_CASE("classification and retrieval pipelines match torchvision", "[pipelines]") {
  testing::PixelDiff all;
  double worst_tensor = 0.0;
  for (const auto& c : image_manifest()["pipelines"]) {
    const io::Image input = testing::fixture_input(c["input"]);
    const io::Pipeline pipeline = c["pipeline"] == "classification" ? io::Pipeline::classification
                                                                     : io::Pipeline::retrieval;
    const index_t size = c["size"];
    INFO(c["input"].get<std::string>() << " " << c["pipeline"].get<std::string>() << " " << size);
    // torchvision calls the installed Pillow (13): its pass order.
    const io::Image pixels = io::pipeline_pixels(input.view(), pipeline, size, io::PillowPassOrder::pillow13);
    const testing::PixelDiff d = testing::compare_pixels(pixels, c["pixels"]);
    REQUIRE(d.same_shape);
    REQUIRE(d.max == 0);
    all.add(d);
    const Tensor<float, 3> tensor = pipeline == io::Pipeline::classification
                                        ? io::classification(input.view(), size, io::PillowPassOrder::pillow13)
                                        : io::retrieval(input.view(), size, io::PillowPassOrder::pillow13);
    REQUIRE(tensor.shape() == Extents<3>{3, size, size});
    REQUIRE(testing::sum_of(tensor) == Approx(c["tensor_sum"].get<double>()).epsilon(1e-9).margin(1e-6));
    if (c.contains("tensor")) {
      const double err = testing::max_abs_diff(tensor, c["tensor"]);
      worst_tensor = std::max(worst_tensor, err);
      REQUIRE(err <= 1e-6);
    }
  }
  report("torchvision pipelines (8-bit pixels)", all, static_cast<index_t>(image_manifest()["pipelines"].size()));
  std::cout << "torchvision pipelines: max |tensor diff| " << worst_tensor << "\n";
}

TEST_CASE("the clip_processor pipeline matches transformers' CLIPImageProcessor", "[pipelines]") {
  // Fixtures: tests/golden/image/make_clip_processor.py. Its crop offset is (size - crop) // 2, where
  // torchvision's CenterCrop rounds half to even: the two differ on two of these inputs.
  std::ifstream in(image_fixture("clip_processor.json"));
  const nlohmann::json manifest = nlohmann::json::parse(in);
  testing::PixelDiff all;
  index_t differ_from_torchvision = 0;
  for (const auto& c : manifest["cases"]) {
    const io::Image input = testing::fixture_input(c["input"]);
    const index_t size = c["size"];
    INFO(c["input"].get<std::string>() << " " << size);
    // transformers calls the installed Pillow (13): its pass order.
    const auto order = io::PillowPassOrder::pillow13;
    const io::Image pixels = io::pipeline_pixels(input.view(), io::Pipeline::clip_processor, size, order);
    const testing::PixelDiff d = testing::compare_pixels(pixels, c["pixels"]);
    REQUIRE(d.same_shape);
    REQUIRE(d.max == 0);
    all.add(d);
    const io::Image torchvision = io::pipeline_pixels(input.view(), io::Pipeline::classification, size, order);
    differ_from_torchvision += std::equal(pixels.data(), pixels.data() + pixels.numel(), torchvision.data()) ? 0 : 1;
    const Tensor<float, 4> batch =
        io::load_batch({image_fixture(testing::image_manifest()["inputs"][c["input"].get<std::string>()])},
                       io::Pipeline::clip_processor, size, order);
    REQUIRE(testing::sum_of(batch) == Approx(c["tensor_sum"].get<double>()).epsilon(1e-9).margin(1e-6));
  }
  REQUIRE(differ_from_torchvision == 2);
  REQUIRE(io::center_crop_offset(12, 5, io::CropRounding::floor) == 3);  // 7 // 2, where round(3.5) = 4
  REQUIRE(io::center_crop_offset(10, 5, io::CropRounding::floor) == 2);
  report("CLIPImageProcessor (8-bit pixels)", all, static_cast<index_t>(manifest["cases"].size()));
}

TEST_CASE("load_batch stacks files into [B, 3, S, S]", "[pipelines]") {
  const std::vector<std::string> paths = {image_fixture("rgb8.png"), image_fixture("grey.pgm"),
                                          image_fixture("q90_420.jpg")};
  const Tensor<float, 4> batch = io::load_batch(paths, io::Pipeline::classification, 24);
  REQUIRE(batch.shape() == Extents<4>{3, 3, 24, 24});
  for (std::size_t b = 0; b < paths.size(); ++b) {
    const Tensor<float, 3> one = io::classification(io::read_image(paths[b]).view(), 24);
    const CView<float, 3> slot = batch.view()[static_cast<index_t>(b)];
    REQUIRE(testing::relative_l2(slot, one.view()) == 0.0);
  }
  REQUIRE_THROWS_WITH(io::load_batch({image_fixture("missing.png")}, io::Pipeline::retrieval, 24),
                      Catch::Contains("missing.png") && Catch::Contains("no such file"));
  REQUIRE_THROWS_WITH(io::load_batch({}, io::Pipeline::retrieval, 24), Catch::Contains("no image files"));
  // 20000 x 1 pixels with the shorter side resized to 224: 4480000 x 224 x 3 bytes, more than an image may
  // take; the error names the file instead of the allocation failing.
  const std::string sliver = (std::filesystem::temp_directory_path() / "internvl_test_sliver.png").string();
  io::write_png(sliver, io::Image(Extents<3>{1, 20000, 3}, std::uint8_t{128}).view());
  REQUIRE_THROWS_WITH(io::load_batch({sliver}, io::Pipeline::classification, 224),
                      Catch::Contains("internvl_test_sliver.png") && Catch::Contains("4480000x224 pixels") &&
                          Catch::Contains("more than the 2 GiB"));
  std::filesystem::remove(sliver);
}

TEST_CASE("segmentation input follows SETR_Resize, ResizeToMultiple(14) and mmcv normalisation", "[segmentation]") {
  for (const auto& r : image_manifest()["segmentation_sizes"]) {
    INFO(r.dump());
    const io::ImageSize rescaled = io::setr_rescaled_size({r[0], r[1]}, 504);
    REQUIRE(rescaled == io::ImageSize{r[2], r[3]});
    REQUIRE(io::round_up_to_multiple(rescaled, 14) == io::ImageSize{r[4], r[5]});
  }
  for (const auto& c : image_manifest()["segmentation"]) {
    INFO(c["input"].get<std::string>());
    const io::Image input = testing::fixture_input(c["input"]);
    const io::Image pixels = io::segmentation_resize(input.view());
    REQUIRE(pixels.size(0) % 14 == 0);
    REQUIRE(pixels.size(1) % 14 == 0);
    REQUIRE(testing::compare_pixels(pixels, c["pixels"]).max == 0);
    const Tensor<float, 3> tensor = io::segmentation_input(input.view());
    REQUIRE(testing::sum_of(tensor) == Approx(c["tensor_sum"].get<double>()).epsilon(1e-9).margin(1e-4));
  }
  const Tensor<float, 4> batch = io::load_segmentation_input(testing::image_fixture("rgb8.png"));
  REQUIRE(batch.shape() == Extents<4>{1, 3, 504, 812});  // 37x23 → 811x504 → 812x504
  REQUIRE(io::segmentation_input_size({37, 23}) == io::ImageSize{812, 504});
  // A 20000 x 1 sliver: its shorter side to 504 gives 10080000 x 504 pixels, more than an image may take;
  // the error names the file.
  const std::string sliver = (std::filesystem::temp_directory_path() / "internvl_test_seg_sliver.png").string();
  io::write_png(sliver, io::Image(Extents<3>{1, 20000, 3}, std::uint8_t{128}).view());
  REQUIRE(io::segmentation_input_size({20000, 1}) == io::ImageSize{10080000, 504});
  REQUIRE_THROWS_WITH(io::load_segmentation_input(sliver),
                      Catch::Contains("internvl_test_seg_sliver.png") && Catch::Contains("more than the 2 GiB"));
  std::filesystem::remove(sliver);
  REQUIRE_THROWS_WITH(io::round_up_to_multiple({5, 5}, 0), Catch::Contains("divisor must be positive"));
}
