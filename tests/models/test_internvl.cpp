// InternVL-C and InternVL-G against OpenGVLab's modeling_internvl.py (tests/golden/internvl/make.py):
// image features in both modes, text features, the model's logits and clip_benchmark-style zero-shot
// probabilities, video embeddings (the mean of the official frame features, as video_retrieval/test_msrvtt.py), on the
// reference and cpu backends, f32 and bf16 checkpoints; the real tokenizer's ids from the model directory's
// tokenizer.model (padded to 80, as the official path does); parameter counts; and the load errors of broken
// directories.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"
#include "internvl/models/load_intern_vit.hpp"
#include "internvl/models/load_internvl.hpp"
#include "internvl/models/zero_shot.hpp"
#include "internvl_golden.hpp"

using namespace internvl;
using models::EmbeddingMode;

namespace {

std::vector<std::string> texts() {
  std::ifstream in(testing::internvl_golden("texts.json"));
  return nlohmann::json::parse(in).get<std::vector<std::string>>();
}

template <class Backend, class Model>
void check_embeddings(Model& model, const std::string& fixture_model, const std::string& run, double tolerance) {
  Context<Backend> ctx;
  const auto pixels = testing::internvl_expected<4>(fixture_model + "_pixels");
  const auto ids = testing::internvl_ids(fixture_model);
  const index_t images = pixels.size(0), count = ids.size(0), width = model.embedding_width();
  Tensor<float, 2> text(Extents<2>{count, width});
  testing::poison(text.view());
  model.text_features(ctx, text.view(), ids.view());
  double err = testing::relative_l2(text.view(), testing::internvl_expected<2>(run + "_text_features").view());
  INFO(run << " text features: relative L2 " << err);
  CHECK(err <= tolerance);
  Tensor<float, 2> text_embeddings(text.shape());
  model.text_embeddings(ctx, text_embeddings.view(), ids.view());
  for (const auto& [mode, name] : {std::pair{EmbeddingMode::C, "C"}, std::pair{EmbeddingMode::G, "G"}}) {
    Tensor<float, 2> image(Extents<2>{images, width});
    testing::poison(image.view());
    model.image_features(ctx, image.view(), pixels.view(), mode);
    err = testing::relative_l2(image.view(), testing::internvl_expected<2>(run + "_image_features_" + name).view());
    INFO(run << " image features " << name << ": relative L2 " << err);
    CHECK(err <= tolerance);
    // logits_per_image = exp(logit_scale) · cosine similarities of the normalised embeddings.
    Tensor<float, 2> image_embeddings(image.shape());
    model.image_embeddings(ctx, image_embeddings.view(), pixels.view(), mode);
    Tensor<float, 2> logits(Extents<2>{images, count});
    testing::poison(logits.view());
    models::similarity(ctx, logits.view(), CView<float, 2>(image_embeddings.view()),
                       CView<float, 2>(text_embeddings.view()));
    for (index_t i = 0; i < logits.numel(); ++i) {
      logits.data()[i] = static_cast<float>(logits.data()[i] * model.logit_scale());
    }
    err = testing::relative_l2(logits.view(), testing::internvl_expected<2>(run + "_logits_" + name).view());
    INFO(run << " logits " << name << ": relative L2 " << err);
    CHECK(err <= tolerance);
  }
}

template <class Backend>
void check_tiny() {
  auto f32 = models::load_internvl<presets::TinyInternVL, Backend>(testing::internvl_golden("tiny_f32"));
  check_embeddings<Backend>(f32, "tiny", "tiny_f32", 1e-5);
  auto bf16 = models::load_internvl<presets::TinyInternVL, Backend>(testing::internvl_golden("tiny_bf16"));
  check_embeddings<Backend>(bf16, "tiny", "tiny_bf16w", 1e-5);  // bf16 weights, f32 arithmetic
  check_embeddings<Backend>(bf16, "tiny", "tiny_bf16c", 2e-2);  // PyTorch running everything in bf16
}

// A copy of a fixture directory (its files linked, not copied) whose config.json is edited by `edit`.
std::string edited_copy(const std::string& fixture, const std::function<void(nlohmann::json&)>& edit) {
  const std::filesystem::path from = testing::internvl_golden(fixture);
  const std::filesystem::path to = std::filesystem::temp_directory_path() / ("internvl_test_" + fixture + "_edited");
  std::filesystem::remove_all(to);
  std::filesystem::create_directories(to);
  for (const auto& entry : std::filesystem::directory_iterator(from)) {
    if (entry.path().filename() != "config.json") {
      std::filesystem::create_symlink(std::filesystem::absolute(entry.path()), to / entry.path().filename());
    }
  }
  std::ifstream in(from / "config.json");
  nlohmann::json config = nlohmann::json::parse(in);
  edit(config);
  std::ofstream(to / "config.json") << config.dump(2);
  return to.string();
}

}  // namespace

TEST_CASE("InternVL-C and -G embeddings and logits match modeling_internvl.py", "[internvl]") {
  check_tiny<backend::reference>();
  check_tiny<backend::cpu>();
  auto dynamic = models::load_internvl<presets::Dynamic, backend::cpu>(testing::internvl_golden("dyn_f32"));
  check_embeddings<backend::cpu>(dynamic, "dyn", "dyn_f32", 1e-5);
}

TEST_CASE("video embeddings are the normalised mean of the official frame features, as test_msrvtt.py takes them",
          "[internvl]") {
  // video_retrieval/test_msrvtt.py: feat = encode_image(frames).mean(0), normalised afterwards. The fixture's
  // two images serve as one video of two frames; the expected row comes from the official features.
  const auto pixels = testing::internvl_expected<4>("tiny_pixels");
  REQUIRE(pixels.size(0) == 2);
  const auto run = [&]<class Backend>(Backend) {
    auto model = models::load_internvl<presets::TinyInternVL, Backend>(testing::internvl_golden("tiny_f32"));
    Context<Backend> ctx;
    for (const auto& [mode, name] : {std::pair{EmbeddingMode::C, "C"}, std::pair{EmbeddingMode::G, "G"}}) {
      const auto features = testing::internvl_expected<2>(std::string("tiny_f32_image_features_") + name);
      const index_t width = features.size(1);
      Tensor<float, 2> expected(Extents<2>{1, width}), frames_normalised_first(Extents<2>{1, width});
      double norm = 0.0, norm0 = 0.0, norm1 = 0.0;
      for (index_t e = 0; e < width; ++e) {
        norm0 += double(features(0, e)) * features(0, e);
        norm1 += double(features(1, e)) * features(1, e);
      }
      for (index_t e = 0; e < width; ++e) {
        expected(0, e) = 0.5f * (features(0, e) + features(1, e));
        frames_normalised_first(0, e) =
            static_cast<float>(0.5 * (features(0, e) / std::sqrt(norm0) + features(1, e) / std::sqrt(norm1)));
        norm += double(expected(0, e)) * expected(0, e);
      }
      for (index_t e = 0; e < width; ++e) {
        expected(0, e) = static_cast<float>(expected(0, e) / std::sqrt(norm));
      }
      Tensor<float, 2> got(Extents<2>{1, width});
      testing::poison(got.view());
      model.video_embeddings(ctx, got.view(), pixels.view(), 2, mode);
      const double err = testing::relative_l2(got.view(), expected.view());
      INFO(Backend::name << " " << name << ": relative L2 " << err);
      CHECK(err <= 1e-5);
      // Averaging normalised frames instead would be caught: it is not even the same direction.
      CHECK(testing::relative_l2(frames_normalised_first.view(), expected.view()) > 1e-3);
      // One frame per video: the image embeddings.
      Tensor<float, 2> videos(Extents<2>{2, width}), images(Extents<2>{2, width});
      model.video_embeddings(ctx, videos.view(), pixels.view(), 1, mode);
      model.image_embeddings(ctx, images.view(), pixels.view(), mode);
      CHECK(testing::relative_l2(videos.view(), images.view()) == 0.0);
    }
    // Videos are consecutive frames: a, a, b, b with two frames each are the videos a and b.
    Tensor<float, 4> aabb(Extents<4>{4, pixels.size(1), pixels.size(2), pixels.size(3)});
    for (index_t f = 0; f < 4; ++f) {
      const auto from = CView<float, 4>(pixels.view()).slice(0, f / 2, f / 2 + 1);
      std::copy_n(from.data(), from.numel(), aabb.data() + f * from.numel());
    }
    Tensor<float, 2> pairs(Extents<2>{2, model.embedding_width()}), singles(pairs.shape());
    model.video_embeddings(ctx, pairs.view(), aabb.view(), 2, EmbeddingMode::C);
    model.image_embeddings(ctx, singles.view(), pixels.view(), EmbeddingMode::C);
    CHECK(testing::relative_l2(pairs.view(), singles.view()) <= 1e-6);
    Tensor<float, 2> two(Extents<2>{2, model.embedding_width()});
    REQUIRE_THROWS_WITH(model.video_embeddings(ctx, two.view(), pixels.view(), 2, EmbeddingMode::C),
                        Catch::Contains("video embeddings have shape [2, 16], expected [1, 16]"));
    REQUIRE_THROWS_WITH(model.video_embeddings(ctx, two.view(), pixels.view(), 3, EmbeddingMode::C),
                        Catch::Contains("2 frames are not a whole number of videos of 3 frames"));
  };
  run(backend::reference{});
  run(backend::cpu{});
}

TEST_CASE("a checkpoint with force_image_size stores and runs the position table of that size", "[internvl]") {
  // forced_f32: vision_config.image_size 56, force_image_size 84; the official model resized its table to
  // 6 x 6 when it was built, and that table is what the checkpoint holds.
  auto forced = models::load_internvl<presets::Dynamic, backend::cpu>(testing::internvl_golden("forced_f32"));
  REQUIRE(forced.config().image_size() == 84);
  check_embeddings<backend::cpu>(forced, "forced", "forced_f32", 1e-5);
  // The vision model alone, read from the same directory, is built at 84 px too.
  auto vision = models::load_intern_vit<presets::Dynamic, backend::cpu>(testing::internvl_golden("forced_f32"));
  REQUIRE(vision.config().image_size == 84);
  Context<backend::cpu> ctx;
  const auto pixels = testing::internvl_expected<4>("forced_pixels");
  const int last[] = {vision.config().num_hidden_layers};
  vision.forward(ctx, pixels.view(), last, [&](int, CView<float, 3> hidden) {
    const double err = testing::relative_l2(hidden, testing::internvl_expected<3>("forced_f32_vit_tokens").view());
    INFO("vision model of forced_f32: relative L2 " << err);
    CHECK(err <= 1e-5);
  });
  // The 56 px checkpoint with force_image_size 84 holds a 4 x 4 table, which the official model refuses too
  // (from_pretrained: size mismatch).
  REQUIRE_THROWS_WITH((models::load_internvl<presets::Dynamic, backend::cpu>(
                          edited_copy("dyn_f32", [](auto& c) { c["force_image_size"] = 84; }))),
                      Catch::Contains("vision_model.embeddings.position_embedding") && Catch::Contains("[1, 17, 40]") &&
                          Catch::Contains("[1, 37, 40]"));
}

TEST_CASE("parameters counted from the loaded tensors match the config and the files", "[internvl]") {
  for (const std::string dir : {"tiny_f32", "tiny_bf16", "dyn_f32", "forced_f32"}) {
    models::with_internvl<backend::cpu>(testing::internvl_golden(dir), [&](auto& model) {
      const io::ModelDir files(testing::internvl_golden(dir));
      std::int64_t stored = 0;
      for (const std::string& name : files.names()) {
        stored += files.tensor(name).numel();
      }
      INFO(dir);
      REQUIRE(model.parameter_count() == stored);
      REQUIRE(model.config().parameter_count() == stored);
    });
  }
  STATIC_REQUIRE(presets::InternVL14B_224::value.parameter_count() == 13'834'975'747);
  STATIC_REQUIRE(presets::QLlama7B::value.parameter_count() == 7'841'912'832);
}

TEST_CASE("texts from the directory's tokenizer.model, padded to 80, give the official text features", "[internvl]") {
  auto model = models::load_internvl<presets::TinyInternVL, backend::cpu>(testing::internvl_golden("tiny_f32"));
  const text::Tokenizer tokenizer(model.tokenizer_path().string());
  const text::TokenizedBatch batch = tokenizer.format(texts());
  const auto expected_ids = testing::internvl_ids("tiny");
  REQUIRE(batch.ids.size(1) == 80);
  for (index_t t = 0; t < batch.ids.size(0); ++t) {
    for (index_t s = 0; s < 80; ++s) {
      REQUIRE(batch.ids(t, s) == (s < expected_ids.size(1) ? expected_ids(t, s) : 0));
    }
  }
  Context<backend::cpu> ctx;
  Tensor<float, 2> features(Extents<2>{batch.ids.size(0), model.embedding_width()});
  model.text_features(ctx, features.view(), batch.ids.view());
  REQUIRE(testing::relative_l2(features.view(), testing::internvl_expected<2>("tiny_f32_text_features").view()) <=
          1e-5);
}

TEST_CASE("zero-shot probabilities follow clip_benchmark's recipe", "[internvl]") {
  std::ifstream in(testing::internvl_golden("zero_shot.json"));
  const auto spec = nlohmann::json::parse(in);
  const auto classes = spec["classes"].get<std::vector<std::string>>();
  const auto templates = spec["templates"].get<std::vector<std::string>>();
  const auto pixels = testing::internvl_expected<4>("tiny_pixels");
  const auto check = [&]<class Backend>(Backend) {
    auto model = models::load_internvl<presets::TinyInternVL, Backend>(testing::internvl_golden("tiny_f32"));
    const text::Tokenizer tokenizer(model.tokenizer_path().string());
    Context<Backend> ctx;
    for (const index_t texts_per_pass : {64, 3, 7}) {  // all classes in one pass, one per pass, two per pass
      const models::ZeroShotClassifier<Backend> classifier(ctx, model, tokenizer, classes, templates, texts_per_pass);
      for (const auto& [mode, name] : {std::pair{EmbeddingMode::C, "C"}, std::pair{EmbeddingMode::G, "G"}}) {
        Tensor<float, 2> embeddings(Extents<2>{pixels.size(0), model.embedding_width()});
        model.image_embeddings(ctx, embeddings.view(), pixels.view(), mode);
        Tensor<float, 2> probabilities(Extents<2>{pixels.size(0), static_cast<index_t>(classes.size())});
        testing::poison(probabilities.view());
        classifier.probabilities(ctx, probabilities.view(), embeddings.view());
        const double err = testing::relative_l2(
            probabilities.view(), testing::internvl_expected<2>(std::string("tiny_f32_zero_shot_") + name).view());
        INFO(Backend::name << " zero-shot " << name << ", " << texts_per_pass << " texts per pass: relative L2 "
                           << err);
        CHECK(err <= 1e-5);
      }
    }
    // Class weights read back must be this model's: a row of another length is refused.
    const models::ZeroShotClassifier<Backend> classifier(ctx, model, tokenizer, classes, templates);
    models::ZeroShotClassifier<Backend>(model, classes, testing::convert<float>(classifier.host_weights()));
    Tensor<float, 2> scaled = testing::convert<float>(classifier.host_weights());
    for (index_t e = 0; e < scaled.size(1); ++e) {
      scaled(1, e) *= 2.0f;
    }
    REQUIRE_THROWS_WITH(
        models::ZeroShotClassifier<Backend>(model, classes, std::move(scaled)),
        Catch::Contains("class weights row 1 has length") && Catch::Contains("not this model's class weights"));
  };
  check(backend::reference{});
  check(backend::cpu{});
  REQUIRE_THROWS_WITH(models::fill_templates({"a photo"}, "cat"), Catch::Contains("has no {c}"));
  REQUIRE(models::fill_templates({"{c} or {c}?"}, "cat") == std::vector<std::string>{"cat or cat?"});
}

TEST_CASE("text features refuse a text of padding only", "[internvl]") {
  auto model = models::load_internvl<presets::TinyInternVL, backend::cpu>(testing::internvl_golden("tiny_f32"));
  Context<backend::cpu> ctx;
  Tensor<std::int32_t, 2> ids(Extents<2>{2, 3}, 0);
  ids(0, 0) = 1;
  Tensor<float, 2> out(Extents<2>{2, 16});
  REQUIRE_THROWS_WITH(model.text_features(ctx, out.view(), ids.view()), Catch::Contains("text 1 has no token id > 0"));
  Tensor<float, 2> wrong(Extents<2>{2, 15});
  ids(1, 0) = 1;
  REQUIRE_THROWS_WITH(model.text_features(ctx, wrong.view(), ids.view()), Catch::Contains("expected [2, 16]"));
}

TEST_CASE("broken model directories are errors naming the problem", "[internvl]") {
  using Model = decltype(models::load_internvl<presets::Dynamic, backend::cpu>(""));
  const auto load = [](const std::string& path) { return models::load_internvl<presets::Dynamic, backend::cpu>(path); };
  REQUIRE_THROWS_WITH(load(edited_copy("tiny_f32", [](auto& c) { c["num_query_token"] = 95; })),
                      Catch::Contains("tensor 'query_tokens' has shape [1, 96, 8], expected [1, 95, 8]"));
  REQUIRE_THROWS_WITH(load(edited_copy("tiny_f32", [](auto& c) { c["qllama_config"]["num_hidden_layers"] = 3; })),
                      Catch::Contains("unexpected tensor 'qllama.model.layers.3."));
  REQUIRE_THROWS_WITH(load(edited_copy("tiny_f32", [](auto& c) { c["cross_attention_frequency"] = 1; })),
                      Catch::Contains("no tensor named 'qllama.model.layers.1.cross_attn."));
  REQUIRE_THROWS_WITH(load(edited_copy("tiny_f32", [](auto& c) { c["use_backbone_lora"] = 8; })),
                      Catch::Contains("'use_backbone_lora' is 8") && Catch::Contains("LoRA"));
  REQUIRE_THROWS_WITH(load(edited_copy("tiny_f32", [](auto& c) { c["qllama_config"]["rope_theta"] = 500000.0; })),
                      Catch::Contains("(qllama_config)") && Catch::Contains("'rope_theta' is 500000"));
  REQUIRE_THROWS_WITH(load(edited_copy("tiny_f32", [](auto& c) { c.erase("qllama_config"); })),
                      Catch::Contains("missing required field 'qllama_config'"));
  REQUIRE_THROWS_WITH(load(edited_copy("tiny_f32", [](auto& c) { c["qllama_config"]["hidden_act"] = "gelu"; })),
                      Catch::Contains("'hidden_act' must be \"silu\""));
  REQUIRE_THROWS_WITH(load(edited_copy("tiny_f32", [](auto& c) { c["vision_config"]["hidden_size"] = 48; })),
                      Catch::Contains("vision_model.embeddings"));
  REQUIRE_THROWS_WITH(
      (models::load_internvl<presets::InternVL14B_224, backend::cpu>(testing::internvl_golden("tiny_f32"))),
      Catch::Contains("does not describe InternVL-14B-224px") &&
          Catch::Contains("vision_config.image_size: 56 vs 224"));
  static_assert(!Model::is_compiled);
}
