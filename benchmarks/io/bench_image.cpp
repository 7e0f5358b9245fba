// Image preprocessing at the sizes InternVL sees: a 1920x1080 RGB frame through Pillow-exact bicubic resizes
// (classification 224, retrieval 448, the 448-px tile grid of dynamic tiling) and the OpenCV-exact bilinear
// segmentation resize. Rate: megapixels of source image per second (Pillow's own benchmark unit).
// benchmarks/io/compare_python.py times the same operations in Pillow / OpenCV on this machine.
#include <benchmark/benchmark.h>

#include <random>

#include "internvl/io/preprocess.hpp"
#include "internvl/io/segmentation_input.hpp"
#include "internvl/io/tiling.hpp"

using namespace internvl;

namespace {

io::Image frame(index_t width, index_t height) {
  io::Image image(Extents<3>{height, width, 3});
  std::mt19937 gen(1);
  for (index_t i = 0; i < image.numel(); ++i) image.data()[i] = static_cast<std::uint8_t>(gen() >> 24);
  return image;
}

void set_rate(benchmark::State& state, const io::Image& image) {
  state.counters["Mpx/s"] = benchmark::Counter(static_cast<double>(image.size(0) * image.size(1)) * 1e-6,
                                               benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

static void BM_resize_bicubic(benchmark::State& state) {
  const io::Image image = frame(1920, 1080);
  for (auto _ : state) {
    io::Image out = io::resize_bicubic_pillow(image.view(), state.range(0), state.range(1));
    benchmark::DoNotOptimize(out.data());
  }
  set_rate(state, image);
}
BENCHMARK(BM_resize_bicubic)->Args({398, 224})->Args({448, 448})->Args({1792, 896})->Unit(benchmark::kMillisecond);

static void BM_classification_224(benchmark::State& state) {
  const io::Image image = frame(1920, 1080);
  for (auto _ : state) {
    Tensor<float, 3> out = io::classification(image.view(), 224);
    benchmark::DoNotOptimize(out.data());
  }
  set_rate(state, image);
}
BENCHMARK(BM_classification_224)->Unit(benchmark::kMillisecond);

static void BM_tile_image_448(benchmark::State& state) {
  const io::Image image = frame(1920, 1080);
  for (auto _ : state) {
    io::TiledImage out = io::tile_image(image.view());
    benchmark::DoNotOptimize(out.pixels.data());
  }
  set_rate(state, image);
}
BENCHMARK(BM_tile_image_448)->Unit(benchmark::kMillisecond);

static void BM_segmentation_input_504(benchmark::State& state) {
  const io::Image image = frame(1920, 1080);
  for (auto _ : state) {
    Tensor<float, 3> out = io::segmentation_input(image.view());
    benchmark::DoNotOptimize(out.data());
  }
  set_rate(state, image);
}
BENCHMARK(BM_segmentation_input_504)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
