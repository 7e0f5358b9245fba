// A program built against internvl as its users build one: from an installed copy through pkg-config, or
// as a Meson subproject (tests/packaging/check_consumers.py). It decodes an image file (libjpeg, stb) and
// runs the cpu backend's rms_norm (xsimd, the thread pool) over its rows, y = x / sqrt(mean(x²)), whose mean
// square is then 1. Prints "height width sum-of-samples max|mean(y²) − 1|".
//   main IMAGE
#include <cmath>
#include <cstdio>
#include <exception>

#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/rms_norm.hpp"
#include "internvl/io/image.hpp"

using namespace internvl;

int main(int argc, char** argv) try {
  INTERNVL_CHECK(argc == 2, "usage", "main IMAGE");
  const io::Image image = io::read_image(argv[1]);
  const index_t rows = image.size(0), width = image.size(1) * image.size(2);
  Tensor<float, 2> x(Extents<2>{rows, width}), y(Extents<2>{rows, width});
  Tensor<float, 1> ones(Extents<1>{width});
  long long samples = 0;
  for (index_t i = 0; i < x.numel(); ++i) {
    samples += image.data()[i];
    x.data()[i] = 1.0f + image.data()[i];  // never a row of zeros
  }
  for (index_t j = 0; j < width; ++j) ones(j) = 1.0f;
  Context<backend::cpu> ctx;
  ops::rms_norm(ctx, y.view(), x.view(), ones.view(), 0.0f);
  double worst = 0.0;
  for (index_t i = 0; i < rows; ++i) {
    double mean_square = 0.0;
    for (index_t j = 0; j < width; ++j) mean_square += double(y(i, j)) * y(i, j) / double(width);
    worst = std::max(worst, std::fabs(mean_square - 1.0));
  }
  std::printf("%ld %ld %lld %.3g\n", long(image.size(0)), long(image.size(1)), samples, worst);
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
