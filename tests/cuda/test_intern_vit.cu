// InternViT and the chat projector end to end on CUDA against transformers (tests/golden/vision/make.py):
// every hidden state of the tiny models of both families, both namings, at the native grid and at one
// that needs the position-embedding resize;
//   bf16 (the CUDA default): the bf16 checkpoints against transformers running in bf16 (`bf16c`),
//                            relative L2 2e-2 (both sides round every intermediate to bf16);
//   f32:                     the f32 checkpoints against transformers in f32 and the bf16 checkpoints
//                            against the bf16 weights run in f32 (`bf16w`), 1e-5 (cuBLAS in
//                            CUBLAS_COMPUTE_32F, no TF32; exact expf in the attention).
// Also: the chat projector, a CUDA-graph replay equal to the eager run, no allocation after the first
// forward pass, a grid run again after its position table was released, and host pixels rejected.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "cuda_testing.hpp"
#include "host_config.hpp"
#include "internvl/io/npy.hpp"
#include "internvl/models/chat_projector.hpp"
#include "internvl/models/vision_loader.hpp"

using namespace internvl;
namespace gpu = internvl::cuda;

namespace {

std::string vision(const std::string& name) { return testing::golden_path("vision/" + name); }

template <class T>
models::VisionEncoder<backend::cuda, T> load(const std::string& name) {
  auto dir = std::make_shared<const io::ModelDir>(vision(name));
  return models::load_vision_encoder<backend::cuda, T>(dir, testing::vision_config_of(*dir));
}

std::vector<int> all_states(const config::VisionConfig& c) {
  std::vector<int> all;
  for (int k = 0; k <= c.num_hidden_layers; ++k) {
    all.push_back(k);
  }
  return all;
}

// Runs the model on both inputs, every hidden state, against `<expected>_<input>_hidden<k>.npy`.
template <class T>
void check_hidden_states(Context<backend::cuda>& ctx, models::VisionEncoder<backend::cuda, T>& model,
                         const std::string& expected, double tolerance) {
  const std::vector<int> all = all_states(model.config());
  for (const std::string input : {"native", "interp"}) {
    auto scope = ctx.workspace().scope();
    const auto pixels = io::read_npy_f32<4>(vision("pixels_" + input + ".npy"));
    int seen = 0;
    model.forward(ctx, to_backend<T>(ctx, pixels.view()), all, [&](int k, CView<T, 3> hidden) {
      const auto want = io::read_npy_f32<3>(vision(expected + "_" + input + "_hidden" + std::to_string(k) + ".npy"));
      const double err = testing::relative_l2(to_host(ctx, hidden).view(), want.view());
      INFO(expected << " " << input << " hidden state " << k << ": relative L2 " << err);
      CHECK(err <= tolerance);
      ++seen;
    });
    REQUIRE(seen == model.config().num_hidden_layers + 1);
  }
}

}  // namespace

TEST_CASE("cuda InternViT in bf16 matches transformers' bf16 run", "[cuda][intern_vit]") {
  Context<backend::cuda> ctx;
  for (const std::string family : {"tiny6b", "tiny300m"}) {
    for (const std::string naming : {"hf", "orig"}) {
      auto model = load<bf16>(family + "_" + naming + "_bf16");
      check_hidden_states(ctx, model, family + "_bf16c", 2e-2);
    }
  }
}

TEST_CASE("cuda InternViT in f32 matches transformers' f32 run", "[cuda][intern_vit]") {
  Context<backend::cuda> ctx;
  for (const std::string family : {"tiny6b", "tiny300m"}) {
    for (const std::string naming : {"hf", "orig"}) {
      auto f32 = load<float>(family + "_" + naming + "_f32");
      check_hidden_states(ctx, f32, family + "_f32", 1e-5);
      auto bf16_weights = load<float>(family + "_" + naming + "_bf16");
      check_hidden_states(ctx, bf16_weights, family + "_bf16w", 1e-5);
    }
  }
  auto dynamic = load<float>("tinydyn_hf_f32");
  check_hidden_states(ctx, dynamic, "tinydyn_f32", 1e-5);
}

TEMPLATE_TEST_CASE("cuda chat projector matches transformers' get_image_features", "[cuda][chat_projector]", float,
                   bf16) {
  // The fixture is transformers in f32; bf16 is held to the error of rounding every intermediate.
  const double tolerance = std::is_same_v<TestType, float> ? 1e-5 : 2e-2;
  Context<backend::cuda> ctx;
  const auto pixels = io::read_npy_f32<4>(vision("pixels_native.npy"));
  const auto expected = io::read_npy_f32<3>(vision("chat_f32_native_projected.npy"));
  for (const std::string name : {"chat_orig_f32", "chat_hf_f32"}) {
    auto dir = std::make_shared<const io::ModelDir>(vision(name));
    const auto projector = models::ChatProjector<backend::cuda, TestType>::load(dir);
    auto model = models::load_vision_encoder<backend::cuda, TestType>(dir, testing::vision_config_of(*dir));
    auto scope = ctx.workspace().scope();
    gpu::DeviceTensor<TestType, 3> tokens = testing::poisoned<TestType>(ctx, expected.shape());
    const int layer[] = {projector.select_layer()};
    model.forward(ctx, to_backend<TestType>(ctx, pixels.view()), layer,
                  [&](int, CView<TestType, 3> hidden) { projector.forward(ctx, tokens.view(), hidden); });
    const double err = testing::relative_l2(testing::to_host(ctx, tokens).view(), expected.view());
    INFO(name << " " << testing::type_name<TestType>() << ": relative L2 " << err);
    REQUIRE(err <= tolerance);
  }
}

TEST_CASE("cuda InternViT: a graph replay equals the eager run; no allocation after the first pass",
          "[cuda][intern_vit]") {
  Context<backend::cuda> ctx;
  auto model = load<bf16>("tiny6b_orig_bf16");
  const auto host_pixels = io::read_npy_f32<4>(vision("pixels_interp.npy"));
  const auto pixels = testing::to_device<bf16>(ctx, host_pixels);
  const auto expected_shape = Extents<3>{host_pixels.size(0), 1 + (host_pixels.size(2) / 14) * (host_pixels.size(3) / 14),
                                          model.config().hidden_size};
  gpu::DeviceTensor<bf16, 3> out = testing::poisoned<bf16>(ctx, expected_shape);
  const int last[] = {-1};
  const auto forward = [&] {
    model.forward(ctx, pixels.view(), last, [&](int, CView<bf16, 3> hidden) {
      REQUIRE(hidden.shape() == expected_shape);
      INTERNVL_CUDA_CHECK(cudaMemcpyAsync(out.data(), hidden.data(), static_cast<std::size_t>(out.numel()) * sizeof(bf16),
                                          cudaMemcpyDeviceToDevice, ctx.stream()));
    });
  };
  forward();
  const std::size_t allocations = ctx.workspace().allocation_count();
  const Tensor<float, 3> eager = testing::to_host(ctx, out);
  REQUIRE(testing::relative_l2(eager.view(), eager.view()) == 0.0);  // written everywhere: no NaN left

  gpu::fill_bytes(ctx, out.view(), 0xFF);
  forward();
  REQUIRE(ctx.workspace().allocation_count() == allocations);
  REQUIRE(testing::relative_l2(testing::to_host(ctx, out).view(), eager.view()) <= 1e-6);

  gpu::Graph graph(ctx, forward);
  gpu::fill_bytes(ctx, out.view(), 0xFF);
  graph.replay(ctx);
  REQUIRE(testing::relative_l2(testing::to_host(ctx, out).view(), eager.view()) <= 1e-6);
  REQUIRE(ctx.workspace().allocation_count() == allocations);
}

TEST_CASE("cuda InternViT: a grid whose position table was released gives the same result when seen again",
          "[cuda][intern_vit]") {
  // The table of the least recently used grid is freed once more than kResizedPositionTables grids ran.
  Context<backend::cuda> ctx;
  auto model = load<bf16>("tiny6b_orig_bf16");
  const index_t patch = model.config().patch_size;
  const int last[] = {-1};
  const auto run = [&](index_t grid_w) {
    auto scope = ctx.workspace().scope();
    const auto host = testing::random_tensor(Extents<4>{1, 3, 2 * patch, grid_w * patch}, 5, -2.0f, 2.0f);
    Tensor<float, 3> out;
    model.forward(ctx, testing::to_device<bf16>(ctx, host).view(), last,
                  [&](int, CView<bf16, 3> hidden) { out = to_host(ctx, hidden); });
    return out;
  };
  const std::size_t loaded = model.store().device_bytes();
  const auto table_bytes = [&](index_t grid_w) {  // [1 + 2·w, D] f32
    return static_cast<std::size_t>((1 + 2 * grid_w) * model.config().hidden_size) * sizeof(float);
  };
  const Tensor<float, 3> first = run(3);
  for (index_t w = 4; w < 4 + static_cast<index_t>(models::VisionEncoder<backend::cuda, bf16>::kResizedPositionTables);
       ++w) {
    run(w);
  }
  REQUIRE(model.kept_position_grids().front() == std::pair<index_t, index_t>{2, 4});  // {2, 3} was released
  REQUIRE(model.store().device_bytes() == loaded + table_bytes(4) + table_bytes(5) + table_bytes(6) + table_bytes(7));
  REQUIRE(testing::relative_l2(run(3).view(), first.view()) <= 1e-6);
}

TEST_CASE("cuda InternViT rejects host pixels", "[cuda][intern_vit]") {
  Context<backend::cuda> ctx;
  auto model = load<bf16>("tiny6b_orig_bf16");
  const Tensor<bf16, 4> host(Extents<4>{1, 3, 56, 56}, bf16(0.0f));
  const int last[] = {-1};
  REQUIRE_THROWS_WITH(model.forward(ctx, host.view(), last, [](int, CView<bf16, 3>) {}),
                      Catch::Contains("ops::patchify") && Catch::Contains("pixels must point to device memory"));
}
