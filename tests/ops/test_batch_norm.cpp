// batch_norm (inference mode): the reference against PyTorch's F.batch_norm(training=False) for NCHW
// maps and feature rows, the cpu backend against the reference over the channel maps and the
// row/width grid (large running means, in place), and argument errors.
#include <catch2/catch.hpp>

#include "grid.hpp"
#include "internvl/backend/cpu/batch_norm.hpp"
#include "internvl/backend/reference/batch_norm.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

// Running statistics and affine parameters of C channels; the means sit around `offset`.
struct Params {
  Tensor<float, 1> mean, var, w, b;

  Params(index_t channels, std::uint64_t seed, float offset)
      : mean(testing::shifted(testing::random_tensor(Extents<1>{channels}, seed, -2, 2), offset)),
        var(testing::random_tensor(Extents<1>{channels}, seed + 1, 0.01f, 4.0f)),
        w(testing::random_tensor(Extents<1>{channels}, seed + 2)),
        b(testing::random_tensor(Extents<1>{channels}, seed + 3)) {}

  explicit Params(const std::string& name)
      : mean(io::read_npy_f32<1>(testing::golden_path("ops/eltwise/" + name + "_mean.npy"))),
        var(io::read_npy_f32<1>(testing::golden_path("ops/eltwise/" + name + "_var.npy"))),
        w(io::read_npy_f32<1>(testing::golden_path("ops/eltwise/" + name + "_w.npy"))),
        b(io::read_npy_f32<1>(testing::golden_path("ops/eltwise/" + name + "_b.npy"))) {}
};

template <class Backend, std::size_t Rank>
void run_batch_norm(Context<Backend>& ctx, View<float, Rank> y, std::type_identity_t<CView<float, Rank>> x, const Params& p,
                    float eps) {
  ops::batch_norm(ctx, y, x, p.mean.view(), p.var.view(), p.w.view(), p.b.view(), eps);
}

// The cpu result against the reference, into a poisoned output and in place.
template <std::size_t Rank>
void check_cpu_against_reference(const Tensor<float, Rank>& x, const Params& p, float eps) {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  Tensor<float, Rank> want(x.shape());
  Tensor<float, Rank> got(x.shape());
  testing::poison(got.view());
  run_batch_norm(ref, want.view(), x.view(), p, eps);
  run_batch_norm(cpu, got.view(), x.view(), p, eps);
  REQUIRE(testing::relative_l2(got.view(), want.view()) < 1e-6);
  auto in_place = testing::copy_of(x);
  run_batch_norm(cpu, in_place.view(), in_place.view(), p, eps);
  REQUIRE(testing::relative_l2(in_place.view(), want.view()) < 1e-6);
}

}  // namespace

TEST_CASE("reference and cpu batch_norm match PyTorch on an NCHW map", "[batch_norm]") {
  const Params p("batch_norm_4d");
  const auto x = io::read_npy_f32<4>(testing::golden_path("ops/eltwise/batch_norm_4d_x.npy"));
  const auto expected = io::read_npy_f32<4>(testing::golden_path("ops/eltwise/batch_norm_4d_y.npy"));
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  Tensor<float, 4> y(x.shape());
  run_batch_norm(ref, y.view(), x.view(), p, 1e-5f);
  REQUIRE(testing::relative_l2(y.view(), expected.view()) < 1e-6);
  testing::poison(y.view());
  run_batch_norm(cpu, y.view(), x.view(), p, 1e-5f);
  REQUIRE(testing::relative_l2(y.view(), expected.view()) < 1e-6);
}

TEST_CASE("reference and cpu batch_norm match PyTorch on feature rows with large running means", "[batch_norm]") {
  const Params p("batch_norm_2d");
  const auto x = io::read_npy_f32<2>(testing::golden_path("ops/eltwise/batch_norm_2d_x.npy"));
  const auto expected = io::read_npy_f32<2>(testing::golden_path("ops/eltwise/batch_norm_2d_y.npy"));
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  Tensor<float, 2> y(x.shape());
  run_batch_norm(ref, y.view(), x.view(), p, 1e-6f);
  REQUIRE(testing::relative_l2(y.view(), expected.view()) < 1e-6);
  testing::poison(y.view());
  run_batch_norm(cpu, y.view(), x.view(), p, 1e-6f);
  REQUIRE(testing::relative_l2(y.view(), expected.view()) < 1e-6);
}

TEST_CASE("cpu batch_norm matches the reference on channel maps", "[batch_norm]") {
  for (const Extents<4>& shape : testing::channel_maps()) {
    for (float offset : {0.0f, 1.0e4f}) {
      INFO("shape " << shape_string(shape) << " offset " << offset);
      const Params p(shape[1], 17, offset);
      const auto x = testing::shifted(testing::random_tensor(shape, 23, -3, 3), offset);
      check_cpu_against_reference(x, p, 1e-5f);
    }
  }
}

TEST_CASE("cpu batch_norm matches the reference on feature rows over the grid", "[batch_norm]") {
  for (index_t rows : testing::grid_rows()) {
    for (index_t width : testing::grid_widths()) {
      for (float offset : {0.0f, 1.0e4f}) {
        INFO("rows " << rows << " width " << width << " offset " << offset);
        const Params p(width, 29, offset);
        const auto x =
            testing::shifted(testing::random_tensor(Extents<2>{rows, width}, testing::grid_seed(rows, width), -3, 3), offset);
        check_cpu_against_reference(x, p, 1e-6f);
      }
    }
  }
}

TEST_CASE("batch_norm rejects bad arguments", "[batch_norm]") {
  Context<backend::cpu> cpu;
  const Params p(6, 1, 0.0f);
  const Params p_bad(5, 1, 0.0f);
  Tensor<float, 4> x(Extents<4>{2, 6, 3, 4}, 1.0f);
  Tensor<float, 4> y_bad(Extents<4>{2, 6, 4, 3});
  Tensor<float, 2> rows(Extents<2>{3, 6}, 1.0f);
  REQUIRE_THROWS_WITH(run_batch_norm(cpu, y_bad.view(), x.view(), p, 1e-5f),
                      Catch::Contains("ops::batch_norm") && Catch::Contains("[2, 6, 4, 3]"));
  REQUIRE_THROWS_WITH(ops::batch_norm(cpu, x.view(), x.view(), p_bad.mean.view(), p.var.view(), p.w.view(), p.b.view(), 1e-5f),
                      Catch::Contains("running_mean has shape [5], expected [6]"));
  REQUIRE_THROWS_WITH(ops::batch_norm(cpu, rows.view(), rows.view(), p.mean.view(), p_bad.var.view(), p.w.view(), p.b.view(), 1e-5f),
                      Catch::Contains("running_var has shape [5], expected [6]"));
  REQUIRE_THROWS_WITH(ops::batch_norm(cpu, rows.view(), rows.view(), p.mean.view(), p.var.view(), p_bad.w.view(), p.b.view(), 1e-5f),
                      Catch::Contains("weight has shape [5], expected [6]"));
  REQUIRE_THROWS_WITH(ops::batch_norm(cpu, x.view(), x.view(), p.mean.view(), p.var.view(), p.w.view(), p_bad.b.view(), 1e-5f),
                      Catch::Contains("bias has shape [5], expected [6]"));
  REQUIRE_THROWS_WITH(run_batch_norm(cpu, rows.view(), rows.view(), p, -1e-5f),
                      Catch::Contains("eps must be >= 0"));
  Tensor<float, 4> square(Extents<4>{1, 6, 4, 4}, 1.0f);
  REQUIRE_THROWS_WITH(run_batch_norm(cpu, square.view(), square.view().transpose(2, 3), p, 1e-5f),
                      Catch::Contains("x must have a dense H×W plane per channel"));
}
