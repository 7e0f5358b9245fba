// InternViT end to end against transformers' InternVLVisionModel (tests/golden/vision/make.py):
// every hidden state of tiny models of both families, both namings, f32 and bf16 weights, at the
// native resolution and at one that needs position-embedding interpolation, on the reference and cpu
// backends (the cpu one also in bf16 precision on every ISA path); the runtime-shaped path;
// hidden-state selection; pre-packed weights; no allocation after the first pass; the kept position tables of
// the last few grids; load errors.
#include <catch2/catch.hpp>

#include "cpu_isa.hpp"
#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"
#include "internvl/io/npy.hpp"
#include "internvl/models/chat_projector.hpp"
#include "internvl/models/load_intern_vit.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

std::string vision(const std::string& name) { return testing::golden_path("vision/" + name); }

// Runs `model` on both inputs, requesting every hidden state, and compares each with the fixtures
// `<expected_prefix>_<input>_hidden<k>.npy`.
template <class Backend, class Model>
void check_hidden_states(Model& model, const std::string& expected_prefix, double tolerance, Context<Backend>& ctx) {
  const int layers = model.config().num_hidden_layers;
  std::vector<int> all;
  for (int k = 0; k <= layers; ++k) {
    all.push_back(k);
  }
  for (const std::string input : {"native", "interp"}) {
    const auto pixels = io::read_npy_f32<4>(vision("pixels_" + input + ".npy"));
    int seen = 0;
    model.forward(ctx, pixels.view(), all, [&](int k, CView<float, 3> hidden) {
      const auto expected =
          io::read_npy_f32<3>(vision(expected_prefix + "_" + input + "_hidden" + std::to_string(k) + ".npy"));
      const double err = testing::relative_l2(hidden, expected.view());
      INFO(expected_prefix << " " << input << " hidden state " << k << ": relative L2 " << err);
      CHECK(err <= tolerance);
      ++seen;
    });
    REQUIRE(seen == layers + 1);
  }
}

template <class Backend, class Model>
void check_hidden_states(Model& model, const std::string& expected_prefix, double tolerance) {
  Context<Backend> ctx;
  check_hidden_states<Backend>(model, expected_prefix, tolerance, ctx);
}

template <class Preset, class Backend>
void check_family(const std::string& family) {
  for (const std::string naming : {"hf", "orig"}) {
    auto f32 = models::load_intern_vit<Preset, Backend>(vision(family + "_" + naming + "_f32"));
    REQUIRE(f32.parameter_count() == Preset::value.parameter_count());
    check_hidden_states<Backend>(f32, family + "_f32", 1e-5);
    auto bf16 = models::load_intern_vit<Preset, Backend>(vision(family + "_" + naming + "_bf16"));
    check_hidden_states<Backend>(bf16, family + "_bf16w", 1e-5);  // bf16 weights, f32 arithmetic
    check_hidden_states<Backend>(bf16, family + "_bf16c", 1e-2);  // PyTorch running all in bf16
  }
}

}  // namespace

TEST_CASE("6B-style InternViT matches transformers layer by layer", "[intern_vit]") {
  check_family<presets::TinyViT6BStyle, backend::reference>("tiny6b");
  check_family<presets::TinyViT6BStyle, backend::cpu>("tiny6b");
}

TEST_CASE("300M-style InternViT matches transformers layer by layer", "[intern_vit]") {
  check_family<presets::TinyViT300MStyle, backend::reference>("tiny300m");
  check_family<presets::TinyViT300MStyle, backend::cpu>("tiny300m");
}

TEST_CASE("InternViT on the cpu in bf16 precision stays within 1e-2 of f32 arithmetic", "[intern_vit]") {
  // bf16 products (GEMMs and attention, f32 accumulation) where the path has them; elsewhere bf16
  // precision falls back to f32 and must match as closely as f32 does.
  const auto run = [](auto& model, const std::string& expected_prefix) {
    testing::for_each_cpu_isa([&](cpu::Isa isa) {
      Context<backend::cpu> ctx;
      ctx.set_matmul_precision(cpu::Precision::bf16);
      check_hidden_states<backend::cpu>(model, expected_prefix,
                                        cpu::bf16_products(isa, cpu::Precision::bf16) ? 1e-2 : 1e-5, ctx);
    });
  };
  auto tiny6b = models::load_intern_vit<presets::TinyViT6BStyle, backend::cpu>(vision("tiny6b_orig_f32"));
  run(tiny6b, "tiny6b_f32");
  auto tiny6b_bf16 = models::load_intern_vit<presets::TinyViT6BStyle, backend::cpu>(vision("tiny6b_hf_bf16"));
  run(tiny6b_bf16, "tiny6b_bf16w");
  auto tiny300m = models::load_intern_vit<presets::TinyViT300MStyle, backend::cpu>(vision("tiny300m_hf_f32"));
  run(tiny300m, "tiny300m_f32");
  auto tiny300m_bf16 = models::load_intern_vit<presets::TinyViT300MStyle, backend::cpu>(vision("tiny300m_orig_bf16"));
  run(tiny300m_bf16, "tiny300m_bf16w");
}

TEST_CASE("a cpu forward pass with pre-packed weights gives the per-call result bit for bit", "[intern_vit]") {
  // Context::set_weight_prepacking: the weights are packed on the first pass (into the WeightStore's
  // slots) and read packed on the second; the products run the same kernels on the same bytes.
  const auto pixels = io::read_npy_f32<4>(vision("pixels_native.npy"));
  const std::vector<int> last{-1};
  const auto last_hidden = [&](auto& model, Context<backend::cpu>& ctx) {
    std::vector<float> values;
    model.forward(ctx, pixels.view(), last,
                  [&](int, CView<float, 3> hidden) { for_each_element(hidden, [&](float v) { values.push_back(v); }); });
    return values;
  };
  for (cpu::Precision precision : {cpu::Precision::f32, cpu::Precision::bf16}) {
    INFO("precision " << cpu::precision_name(precision));
    auto model = models::load_intern_vit<presets::TinyViT6BStyle, backend::cpu>(vision("tiny6b_orig_bf16"));
    Context<backend::cpu> per_call, prepacked;
    per_call.set_matmul_precision(precision);
    prepacked.set_matmul_precision(precision);
    prepacked.set_weight_prepacking(true);
    const std::vector<float> want = last_hidden(model, per_call);
    REQUIRE(last_hidden(model, prepacked) == want);  // packs
    REQUIRE(last_hidden(model, prepacked) == want);  // reads the packed panels
    REQUIRE(last_hidden(model, per_call) == want);   // the checkpoint is still there after packing
  }
}

TEST_CASE("a cpu forward pass allocates nothing once its workspace has grown", "[intern_vit]") {
  auto model = models::load_intern_vit<presets::TinyViT6BStyle, backend::cpu>(vision("tiny6b_orig_bf16"));
  const auto pixels = io::read_npy_f32<4>(vision("pixels_native.npy"));
  const std::vector<int> last{-1};
  for (cpu::Precision precision : {cpu::Precision::f32, cpu::Precision::bf16}) {
    Context<backend::cpu> ctx;
    ctx.set_matmul_precision(precision);
    model.forward(ctx, pixels.view(), last, [](int, CView<float, 3>) {});
    const std::size_t after_first = ctx.workspace().allocation_count();
    for (int pass = 0; pass < 2; ++pass) {
      model.forward(ctx, pixels.view(), last, [](int, CView<float, 3>) {});
    }
    REQUIRE(ctx.workspace().allocation_count() == after_first);
  }
}

TEST_CASE("position tables of the last few grids are kept, and a grid seen again gives the same bits", "[intern_vit]") {
  // A dataset of many image sizes (segment's default, whole-image mode) must not keep a table per size.
  auto model = models::load_intern_vit<presets::TinyViT6BStyle, backend::cpu>(vision("tiny6b_orig_bf16"));
  using Model = decltype(model);
  const index_t patch = model.config().patch_size, native = model.config().grid();
  Context<backend::cpu> ctx;
  const std::vector<int> last{-1};
  const auto run = [&](index_t grid_h, index_t grid_w) {
    const auto pixels = testing::random_tensor(Extents<4>{1, 3, grid_h * patch, grid_w * patch}, 5, -2.0f, 2.0f);
    Tensor<float, 3> out;
    model.forward(ctx, pixels.view(), last, [&](int, CView<float, 3> hidden) {
      out = Tensor<float, 3>(hidden.shape());
      std::copy_n(hidden.data(), hidden.numel(), out.data());
    });
    return out;
  };
  const std::size_t loaded = model.store().kept_bytes();
  const auto table_bytes = [&](index_t grid_w) {  // [1 + 2·w, D] f32
    return static_cast<std::size_t>((1 + 2 * grid_w) * model.config().hidden_size) * sizeof(float);
  };
  const Tensor<float, 3> first = run(2, 3);
  REQUIRE(model.kept_position_grids() == std::vector<std::pair<index_t, index_t>>{{2, 3}});
  REQUIRE(model.store().kept_bytes() == loaded + table_bytes(3));
  for (index_t w = 4; w < 4 + static_cast<index_t>(Model::kResizedPositionTables); ++w) {
    run(2, w);
  }
  run(native, native);  // the stored table: nothing is resized or released
  run(2, 4);            // now the most recently used
  REQUIRE(model.kept_position_grids() == std::vector<std::pair<index_t, index_t>>{{2, 5}, {2, 6}, {2, 7}, {2, 4}});
  const Tensor<float, 3> again = run(2, 3);  // released above: resized again, {2, 5} released
  REQUIRE(model.kept_position_grids() == std::vector<std::pair<index_t, index_t>>{{2, 6}, {2, 7}, {2, 4}, {2, 3}});
  REQUIRE(model.store().kept_bytes() == loaded + table_bytes(6) + table_bytes(7) + table_bytes(4) + table_bytes(3));
  REQUIRE(std::equal(first.data(), first.data() + first.numel(), again.data()));
}

TEST_CASE("a checkpoint matching no preset runs on the runtime-shaped path", "[intern_vit]") {
  std::string_view picked;
  models::with_intern_vit<backend::cpu>(vision("tinydyn_hf_f32"), [&]<class Model>(Model& model) {
    picked = Model::preset_type::name;
    check_hidden_states<backend::cpu>(model, "tinydyn_f32", 1e-5);
  });
  REQUIRE(picked == presets::Dynamic::name);
  models::with_intern_vit<backend::cpu>(vision("tiny6b_orig_bf16"),
                                        [&]<class Model>(Model&) { picked = Model::preset_type::name; });
  REQUIRE(picked == presets::TinyViT6BStyle::name);
}

TEST_CASE("hidden-state selection: negative indices, early stop, bad indices", "[intern_vit]") {
  auto model = models::load_intern_vit<presets::TinyViT6BStyle, backend::cpu>(vision("tiny6b_orig_f32"));
  Context<backend::cpu> ctx;
  const auto pixels = io::read_npy_f32<4>(vision("pixels_native.npy"));
  std::vector<int> got;
  const std::vector<int> wanted{-1, -3, 0};
  model.forward(ctx, pixels.view(), wanted, [&](int k, CView<float, 3> hidden) {
    got.push_back(k);
    const auto expected = io::read_npy_f32<3>(vision("tiny6b_f32_native_hidden" + std::to_string(k) + ".npy"));
    CHECK(testing::relative_l2(hidden, expected.view()) <= 1e-5);
  });
  REQUIRE(got == std::vector<int>{0, 1, 3});
  const std::vector<int> bad{4};
  REQUIRE_THROWS_WITH(model.forward(ctx, pixels.view(), bad, [](int, CView<float, 3>) {}),
                      Catch::Contains("hidden state 4 does not exist") && Catch::Contains("3 blocks"));
  Tensor<float, 4> odd(Extents<4>{1, 3, 50, 56}, 0.0f);
  const std::vector<int> last{-1};
  REQUIRE_THROWS_WITH(model.forward(ctx, odd.view(), last, [](int, CView<float, 3>) {}),
                      Catch::Contains("multiples of the patch size 14"));
  const Tensor<float, 4> none(Extents<4>{0, 3, 56, 56});
  REQUIRE_THROWS_WITH(model.forward(ctx, none.view(), last, [](int, CView<float, 3>) {}),
                      Catch::Contains("holds no image"));
}

TEST_CASE("loading checks the config against the preset and the tensors against the config", "[intern_vit]") {
  REQUIRE_THROWS_WITH((models::load_intern_vit<presets::TinyViT300MStyle, backend::cpu>(vision("tiny6b_orig_f32"))),
                      Catch::Contains("does not describe tiny-300M-style") && Catch::Contains("hidden_size: 64 vs 48"));
  REQUIRE_THROWS_WITH((models::load_intern_vit<presets::InternViT6B_224, backend::cpu>(vision("tiny6b_hf_f32"))),
                      Catch::Contains("does not describe InternViT-6B-224px"));
}

TEST_CASE("chat visual tokens match transformers' get_image_features in both namings", "[chat_projector]") {
  const auto pixels = io::read_npy_f32<4>(vision("pixels_native.npy"));
  const auto expected = io::read_npy_f32<3>(vision("chat_f32_native_projected.npy"));
  for (const std::string dir_name : {"chat_orig_f32", "chat_hf_f32"}) {
    auto dir = std::make_shared<const io::ModelDir>(vision(dir_name));
    const auto projector = models::ChatProjector<backend::cpu>::load(dir);
    REQUIRE(projector.version() == ops::PixelShuffleVersion::v2);
    auto model = models::InternViT<presets::TinyViT6BStyle, backend::cpu>(
        models::load_vision_encoder<backend::cpu>(dir, models::read_vision_config(*dir)));
    Context<backend::cpu> ctx;
    Tensor<float, 3> tokens(expected.shape());
    testing::poison(tokens.view());
    const int layer[] = {projector.select_layer()};
    model.forward(ctx, pixels.view(), layer,
                  [&](int, CView<float, 3> hidden) { projector.forward(ctx, tokens.view(), hidden); });
    INFO(dir_name);
    REQUIRE(testing::relative_l2(tokens.view(), expected.view()) <= 1e-5);
  }
}
