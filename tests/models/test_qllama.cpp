// QLLaMA against OpenGVLab's modeling_qllama.py (tests/golden/internvl/make.py), layer by layer on
// both paths: the image path (the learned queries, bidirectional, cross-attention to InternViT's tokens
// in layers 0, 2, ...) and the text path (causal + key padding, no cross-attention), on the reference
// and cpu backends, for the tiny preset in f32 and bf16 (sharded, mixed dtypes) and for a shape that
// matches no preset (12 queries, 3 layers); then the inputs it refuses.
#include <catch2/catch.hpp>

#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"
#include "internvl/models/load_internvl.hpp"
#include "internvl_golden.hpp"

using namespace internvl;

namespace {

// Both paths of `model`'s QLLaMA, every hidden state and the final outputs, against `<run>_*` fixtures.
template <class Backend, class Model>
void check_paths(Model& model, const std::string& fixture_model, const std::string& run, double tolerance) {
  Context<Backend> ctx;
  const auto& qllama = model.qllama();
  const auto& c = qllama.config();
  const int layers = c.num_hidden_layers;
  {  // image path, from the reference's own InternViT tokens
    const auto vision = testing::internvl_expected<3>(run + "_vit_tokens");
    Tensor<float, 3> out(Extents<3>{vision.size(0), c.num_query_token, c.hidden_size});
    testing::poison(out.view());
    int seen = 0;
    qllama.encode_queries(ctx, out.view(), vision.view(), [&](int k, CView<float, 3> hidden) {
      const double err =
          testing::relative_l2(hidden, testing::internvl_expected<3>(run + "_image_hidden" + std::to_string(k)).view());
      INFO(run << " image path, hidden state " << k << ": relative L2 " << err);
      CHECK(err <= tolerance);
      ++seen;
    });
    REQUIRE(seen == layers + 1);
    const double err = testing::relative_l2(out.view(), testing::internvl_expected<3>(run + "_query_outputs").view());
    INFO(run << " query outputs: relative L2 " << err);
    CHECK(err <= tolerance);
  }
  {  // text path
    const auto ids = testing::internvl_ids(fixture_model);
    Tensor<float, 3> out(Extents<3>{ids.size(0), ids.size(1), c.hidden_size});
    testing::poison(out.view());
    int seen = 0;
    qllama.encode_text(ctx, out.view(), ids.view(), [&](int k, CView<float, 3> hidden) {
      const double err =
          testing::relative_l2(hidden, testing::internvl_expected<3>(run + "_text_hidden" + std::to_string(k)).view());
      INFO(run << " text path, hidden state " << k << ": relative L2 " << err);
      CHECK(err <= tolerance);
      ++seen;
    });
    REQUIRE(seen == layers + 1);
    const double err = testing::relative_l2(out.view(), testing::internvl_expected<3>(run + "_text_last").view());
    INFO(run << " text last hidden state: relative L2 " << err);
    CHECK(err <= tolerance);
  }
}

template <class Backend>
void check_tiny() {
  auto f32 = models::load_internvl<presets::TinyInternVL, Backend>(testing::internvl_golden("tiny_f32"));
  check_paths<Backend>(f32, "tiny", "tiny_f32", 1e-5);
  auto bf16 = models::load_internvl<presets::TinyInternVL, Backend>(testing::internvl_golden("tiny_bf16"));
  check_paths<Backend>(bf16, "tiny", "tiny_bf16w", 1e-5);  // bf16 weights, f32 arithmetic
  check_paths<Backend>(bf16, "tiny", "tiny_bf16c", 2e-2);  // PyTorch running everything in bf16
}

}  // namespace

TEST_CASE("QLLaMA matches modeling_qllama.py layer by layer on both paths", "[qllama]") {
  check_tiny<backend::reference>();
  check_tiny<backend::cpu>();
}

TEST_CASE("a QLLaMA shape matching no preset runs on the runtime-shaped path", "[qllama]") {
  std::string_view picked;
  models::with_internvl<backend::cpu>(testing::internvl_golden("dyn_f32"), [&]<class Model>(Model& model) {
    picked = Model::preset_type::name;
    REQUIRE(model.qllama().config().num_query_token == 12);
    check_paths<backend::cpu>(model, "dyn", "dyn_f32", 1e-5);
  });
  REQUIRE(picked == presets::Dynamic::name);
  auto reference = models::load_internvl<presets::Dynamic, backend::reference>(testing::internvl_golden("dyn_f32"));
  check_paths<backend::reference>(reference, "dyn", "dyn_f32", 1e-5);
}

TEST_CASE("QLLaMA refuses inputs it cannot run", "[qllama]") {
  auto model = models::load_internvl<presets::TinyInternVL, backend::cpu>(testing::internvl_golden("tiny_f32"));
  Context<backend::cpu> ctx;
  const auto& qllama = model.qllama();
  Tensor<float, 3> vision(Extents<3>{1, 17, 63}, 0.0f);
  Tensor<float, 3> out(Extents<3>{1, 96, 8});
  REQUIRE_THROWS_WITH(qllama.encode_queries(ctx, out.view(), vision.view()),
                      Catch::Contains("vision tokens are 63 wide") && Catch::Contains("reads 64"));
  Tensor<float, 3> vision_ok(Extents<3>{1, 17, 64}, 0.0f);
  Tensor<float, 3> short_out(Extents<3>{1, 95, 8});
  REQUIRE_THROWS_WITH(qllama.encode_queries(ctx, short_out.view(), vision_ok.view()), Catch::Contains("[1, 96, 8]"));
  Tensor<std::int32_t, 2> ids(Extents<2>{1, 4}, 1);
  ids(0, 2) = 49954;
  Tensor<float, 3> text(Extents<3>{1, 4, 8});
  REQUIRE_THROWS_WITH(qllama.encode_text(ctx, text.view(), ids.view()),
                      Catch::Contains("token id 49954 at position 2") && Catch::Contains("[0, 49954)"));
}
