// gelu, silu, relu, swiglu: the references against F.gelu / F.silu / F.relu / F.silu(gate)·up, the cpu backend
// (xsimd erfc / exp) against the reference over the row/width grid, over wide ranges ([−100, 100]),
// the negative tails on their own, rank-4 maps, in place, and shape errors.
#include <catch2/catch.hpp>

#include <algorithm>

#include "grid.hpp"
#include "internvl/backend/cpu/gelu.hpp"
#include "internvl/backend/cpu/relu.hpp"
#include "internvl/backend/cpu/silu.hpp"
#include "internvl/backend/cpu/swiglu.hpp"
#include "internvl/backend/reference/gelu.hpp"
#include "internvl/backend/reference/relu.hpp"
#include "internvl/backend/reference/silu.hpp"
#include "internvl/backend/reference/swiglu.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

enum class Unary { gelu, silu, relu };

const char* name_of(Unary f) { return f == Unary::gelu ? "gelu" : f == Unary::silu ? "silu" : "relu"; }

template <class Backend, std::size_t Rank>
void apply(Unary f, Context<Backend>& ctx, View<float, Rank> y, std::type_identity_t<CView<float, Rank>> x) {
  if (f == Unary::gelu) {
    ops::gelu(ctx, y, x);
  } else if (f == Unary::silu) {
    ops::silu(ctx, y, x);
  } else {
    ops::relu(ctx, y, x);
  }
}

// The cpu result against the reference for x (written into a poisoned output, or in place):
// the larger relative L2 error of the two.
template <std::size_t Rank>
double cpu_error(Unary f, const Tensor<float, Rank>& x) {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  Tensor<float, Rank> want(x.shape());
  apply(f, ref, want.view(), x.view());
  Tensor<float, Rank> got(x.shape());
  testing::poison(got.view());
  apply(f, cpu, got.view(), x.view());
  Tensor<float, Rank> in_place = testing::copy_of(x);
  apply(f, cpu, in_place.view(), in_place.view());
  return std::max(testing::relative_l2(got.view(), want.view()), testing::relative_l2(in_place.view(), want.view()));
}

// n points evenly spread over [lo, hi], as one row.
Tensor<float, 2> linspace(float lo, float hi, index_t n) {
  Tensor<float, 2> t(Extents<2>{1, n});
  for (index_t i = 0; i < n; ++i) {
    t(0, i) = lo + (hi - lo) * static_cast<float>(i) / static_cast<float>(n - 1);
  }
  return t;
}

}  // namespace

TEST_CASE("reference and cpu gelu and silu match PyTorch", "[activations]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  for (const auto& [name, f] : {std::pair{"gelu", Unary::gelu}, std::pair{"gelu_tail", Unary::gelu},
                                std::pair{"silu", Unary::silu}}) {
    INFO(name);
    const auto x = io::read_npy_f32<2>(testing::golden_path(std::string("ops/eltwise/") + name + "_x.npy"));
    const auto expected = io::read_npy_f32<2>(testing::golden_path(std::string("ops/eltwise/") + name + "_y.npy"));
    Tensor<float, 2> y(x.shape());
    apply(f, ref, y.view(), x.view());
    REQUIRE(testing::relative_l2(y.view(), expected.view()) < 1e-6);
    testing::poison(y.view());
    apply(f, cpu, y.view(), x.view());
    REQUIRE(testing::relative_l2(y.view(), expected.view()) < 1e-6);
  }
}

TEST_CASE("reference and cpu relu match PyTorch, NaN included", "[activations]") {
  const auto x = io::read_npy_f32<2>(testing::golden_path("ops/eltwise/relu_x.npy"));
  const auto expected = io::read_npy_f32<2>(testing::golden_path("ops/eltwise/relu_y.npy"));
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  for (bool on_cpu : {false, true}) {
    Tensor<float, 2> y(x.shape(), 7.0f);
    on_cpu ? ops::relu(cpu, y.view(), x.view()) : ops::relu(ref, y.view(), x.view());
    for (index_t i = 0; i < x.numel(); ++i) {
      const float got = y.data()[i], want = expected.data()[i];
      INFO((on_cpu ? "cpu" : "reference") << " element " << i << ": x " << x.data()[i] << " -> " << got);
      REQUIRE((std::isnan(want) ? std::isnan(got) : got == want));
    }
  }
}

TEST_CASE("reference and cpu swiglu match PyTorch", "[activations]") {
  const auto gate = io::read_npy_f32<2>(testing::golden_path("ops/eltwise/swiglu_gate.npy"));
  const auto up = io::read_npy_f32<2>(testing::golden_path("ops/eltwise/swiglu_up.npy"));
  const auto expected = io::read_npy_f32<2>(testing::golden_path("ops/eltwise/swiglu_out.npy"));
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  Tensor<float, 2> out(gate.shape());
  ops::swiglu(ref, out.view(), gate.view(), up.view());
  REQUIRE(testing::relative_l2(out.view(), expected.view()) < 1e-6);
  testing::poison(out.view());
  ops::swiglu(cpu, out.view(), gate.view(), up.view());
  REQUIRE(testing::relative_l2(out.view(), expected.view()) < 1e-6);
}

TEST_CASE("cpu gelu, silu and relu match the reference over the grid", "[activations]") {
  for (Unary f : {Unary::gelu, Unary::silu, Unary::relu}) {
    for (index_t rows : testing::grid_rows()) {
      for (index_t width : testing::grid_widths()) {
        INFO(name_of(f) << " rows " << rows << " width " << width);
        const auto x = testing::random_tensor(Extents<2>{rows, width}, testing::grid_seed(rows, width), -6, 6);
        REQUIRE(cpu_error(f, x) < 1e-6);
      }
    }
  }
}

TEST_CASE("cpu gelu and silu stay accurate over wide ranges and in the negative tails", "[activations]") {
  // Each range on its own, so that the tails are not drowned by large values in the relative error.
  const std::pair<float, float> ranges[] = {{-1, 1}, {-6, 6}, {-100, 100}, {5, 60}, {-6, -3}, {-10, -5}};
  for (Unary f : {Unary::gelu, Unary::silu}) {
    for (const auto& [lo, hi] : ranges) {
      INFO((f == Unary::gelu ? "gelu" : "silu") << " on [" << lo << ", " << hi << "]");
      REQUIRE(cpu_error(f, linspace(lo, hi, 100003)) < 1e-6);
    }
  }
  // silu's tail goes on to −80 (e^80 is still finite in f32) with the same accuracy.
  REQUIRE(cpu_error(Unary::silu, linspace(-80, -20, 100003)) < 1e-6);
}

TEST_CASE("cpu gelu, silu and relu run on rank-4 maps and row slices", "[activations]") {
  for (Unary f : {Unary::gelu, Unary::silu, Unary::relu}) {
    for (const Extents<4>& shape : testing::channel_maps()) {
      INFO("shape " << shape_string(shape));
      const auto x = testing::random_tensor(shape, 7, -5, 5);
      REQUIRE(cpu_error(f, x) < 1e-6);
    }
    // Columns 3..20 of a [6, 24] matrix: rows strided by 24.
    Context<backend::reference> ref;
    Context<backend::cpu> cpu;
    const auto x = testing::random_tensor(Extents<2>{6, 24}, 8, -5, 5);
    Tensor<float, 2> want(x.shape(), 0.0f);
    Tensor<float, 2> got(x.shape());
    testing::poison(got.view());
    apply(f, ref, want.view().slice(1, 3, 21), x.view().slice(1, 3, 21));
    apply(f, cpu, got.view().slice(1, 3, 21), x.view().slice(1, 3, 21));
    REQUIRE(testing::relative_l2(got.view().slice(1, 3, 21), want.view().slice(1, 3, 21)) < 1e-6);
    REQUIRE(std::isnan(got(0, 2)));
    REQUIRE(std::isnan(got(5, 21)));
  }
}

TEST_CASE("cpu swiglu matches the reference over the grid, in place on either input", "[activations]") {
  Context<backend::reference> ref;
  Context<backend::cpu> cpu;
  for (index_t rows : testing::grid_rows()) {
    for (index_t width : testing::grid_widths()) {
      INFO("rows " << rows << " width " << width);
      const auto gate = testing::random_tensor(Extents<2>{rows, width}, testing::grid_seed(rows, width), -8, 8);
      const auto up = testing::random_tensor(Extents<2>{rows, width}, testing::grid_seed(rows, width) + 1, -2, 2);
      Tensor<float, 2> want(gate.shape());
      Tensor<float, 2> got(gate.shape());
      testing::poison(got.view());
      ops::swiglu(ref, want.view(), gate.view(), up.view());
      ops::swiglu(cpu, got.view(), gate.view(), up.view());
      REQUIRE(testing::relative_l2(got.view(), want.view()) < 1e-6);
      auto on_gate = testing::copy_of(gate);
      ops::swiglu(cpu, on_gate.view(), on_gate.view(), up.view());
      REQUIRE(testing::relative_l2(on_gate.view(), want.view()) < 1e-6);
      auto on_up = testing::copy_of(up);
      ops::swiglu(cpu, on_up.view(), gate.view(), on_up.view());
      REQUIRE(testing::relative_l2(on_up.view(), want.view()) < 1e-6);
    }
  }
}

TEST_CASE("gelu, silu and swiglu reject bad arguments", "[activations]") {
  Context<backend::cpu> cpu;
  Tensor<float, 2> x(Extents<2>{4, 8}, 1.0f);
  Tensor<float, 2> y(Extents<2>{4, 7});
  REQUIRE_THROWS_WITH(ops::gelu(cpu, y.view(), x.view()),
                      Catch::Contains("ops::gelu") && Catch::Contains("[4, 7]") && Catch::Contains("[4, 8]"));
  REQUIRE_THROWS_WITH(ops::silu(cpu, y.view(), x.view()), Catch::Contains("ops::silu") && Catch::Contains("[4, 7]"));
  REQUIRE_THROWS_WITH(ops::relu(cpu, y.view(), x.view()), Catch::Contains("ops::relu") && Catch::Contains("[4, 7]"));
  REQUIRE_THROWS_WITH(ops::swiglu(cpu, x.view(), x.view(), y.view()),
                      Catch::Contains("ops::swiglu") && Catch::Contains("gate has shape [4, 8] but up has shape [4, 7]"));
  REQUIRE_THROWS_WITH(ops::swiglu(cpu, y.view(), x.view(), x.view()),
                      Catch::Contains("out has shape [4, 7] but gate has shape [4, 8]"));
  // [2, 3, 4] with the middle dimension sliced out of 5: its rows do not collapse into one.
  Tensor<float, 3> big(Extents<3>{2, 5, 4}, 1.0f);
  const View<float, 3> gapped = big.view().slice(1, 0, 3);
  Tensor<float, 3> dense(Extents<3>{2, 3, 4});
  REQUIRE_THROWS_WITH(ops::gelu(cpu, dense.view(), gapped),
                      Catch::Contains("ops::gelu: x of shape [2, 3, 4]") && Catch::Contains("cannot be seen as rows"));
  Tensor<float, 2> square(Extents<2>{8, 8}, 1.0f);
  REQUIRE_THROWS_WITH(ops::silu(cpu, square.view(), square.view().transpose(0, 1)),
                      Catch::Contains("x must have unit stride in its last dimension"));
  REQUIRE_THROWS_WITH(ops::swiglu(cpu, square.view(), square.view(), square.view().transpose(0, 1)),
                      Catch::Contains("ops::swiglu") && Catch::Contains("up must have unit stride in its last dimension"));
}

TEST_CASE("gelu, silu and swiglu of empty views are a no-op", "[activations]") {
  Context<backend::cpu> cpu;
  Tensor<float, 2> none(Extents<2>{0, 8});
  Tensor<float, 4> empty_map(Extents<4>{1, 0, 3, 3});
  ops::gelu(cpu, none.view(), none.view());
  ops::silu(cpu, empty_map.view(), empty_map.view());
  ops::relu(cpu, empty_map.view(), empty_map.view());
  ops::swiglu(cpu, none.view(), none.view(), none.view());
}
