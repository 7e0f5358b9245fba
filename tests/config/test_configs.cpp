// configs/*.json against the compiled presets, field by field (Hana reflection), and config.json
// parsing: both naming schemes, defaults for absent fields, errors that name the field; the same for
// the InternVL-C/G configs (vision_config + qllama_config + top-level fields).
#include <catch2/catch.hpp>
#include <fstream>
#include <functional>

#include "internvl/config/internvl_json.hpp"
#include "internvl/config/preset_select.hpp"

using namespace internvl;
using config::VisionConfig;

namespace {

nlohmann::json read_config(const std::string& name) {
  const std::string path = std::string(INTERNVL_SOURCE_ROOT) + "/configs/" + name + ".json";
  std::ifstream in(path);
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

template <class Preset>
void check_mirror(const std::string& file) {
  const VisionConfig parsed = config::vision_config_from_json(read_config(file), file);
  const auto diff = config::differences(parsed, Preset::value);
  INFO(file << " differs from " << Preset::name << ": " << (diff.empty() ? "" : diff.front()));
  REQUIRE(diff.empty());
  std::string_view picked;
  config::visit_vision_preset(parsed, [&]<class P>() { picked = P::name; });
  REQUIRE(picked == Preset::name);
}

template <class Preset>
void check_internvl_mirror(const std::string& file) {
  const config::InternVLConfig parsed = config::internvl_config_from_json(read_config(file), file);
  const auto diff = config::differences(parsed, Preset::value);
  INFO(file << " differs from " << Preset::name << ": " << (diff.empty() ? "" : diff.front()));
  REQUIRE(diff.empty());
  std::string_view picked;
  config::visit_internvl_preset(parsed, [&]<class P>() { picked = P::name; });
  REQUIRE(picked == Preset::name);
}

nlohmann::json minimal() {
  return nlohmann::json::parse(
      R"({"hidden_size": 3200, "num_attention_heads": 25, "num_hidden_layers": 48, "intermediate_size": 12800})");
}

}  // namespace

TEST_CASE("every configs/*.json mirrors its preset", "[config]") {
  check_mirror<presets::InternViT6B_224>("InternViT-6B-224px");
  check_mirror<presets::InternViT6B_448_V1_0>("InternViT-6B-448px-V1-0");
  check_mirror<presets::InternViT6B_448_V1_5>("InternViT-6B-448px-V1-5");
  check_mirror<presets::InternViT300M_448>("InternViT-300M-448px");
  check_mirror<presets::TinyViT6BStyle>("tiny-6B-style");
  check_mirror<presets::TinyViT300MStyle>("tiny-300M-style");
}

TEST_CASE("absent optional fields take the official defaults of the naming scheme", "[config]") {
  const VisionConfig remote = config::vision_config_from_json(minimal(), "config.json");
  REQUIRE(remote.norm_type == config::Norm::rms_norm);  // InternViT-6B-224px's file has no norm_type
  REQUIRE(remote.qk_normalization);
  REQUIRE_FALSE(remote.qkv_bias);
  REQUIRE(remote.image_size == 224);
  REQUIRE(remote.layer_norm_eps == 1e-6);

  auto hf = nlohmann::json::parse(R"({"model_type": "internvl_vision", "hidden_size": 64, "num_attention_heads": 4,
      "num_hidden_layers": 2, "intermediate_size": 128, "image_size": [56, 56], "patch_size": [14, 14]})");
  const VisionConfig t = config::vision_config_from_json(hf, "config.json");
  REQUIRE(t.norm_type == config::Norm::layer_norm);  // transformers' InternVLVisionConfig defaults
  REQUIRE_FALSE(t.qk_normalization);
  REQUIRE(t.image_size == 56);
  hf["use_qk_norm"] = true;
  hf["attention_bias"] = true;
  hf["norm_type"] = "rms_norm";
  const VisionConfig t2 = config::vision_config_from_json(hf, "config.json");
  REQUIRE(t2.qk_normalization);
  REQUIRE(t2.qkv_bias);

  nlohmann::json chat;
  chat["vision_config"] = minimal();
  chat["llm_config"] = {{"hidden_size", 4096}};
  REQUIRE(config::vision_config_from_json(chat, "config.json").hidden_size == 3200);
}

TEST_CASE("impossible or mistyped values are errors naming the field", "[config]") {
  auto j = minimal();
  j["num_attention_heads"] = 7;
  REQUIRE_THROWS_WITH(config::vision_config_from_json(j, "dir/config.json"),
                      Catch::Contains("dir/config.json") && Catch::Contains("'num_attention_heads'"));
  j = minimal();
  j["norm_type"] = "batch_norm";
  REQUIRE_THROWS_WITH(config::vision_config_from_json(j, "config.json"), Catch::Contains("'norm_type'"));
  j = minimal();
  j.erase("intermediate_size");
  REQUIRE_THROWS_WITH(config::vision_config_from_json(j, "config.json"),
                      Catch::Contains("missing required field 'intermediate_size'"));
  j = minimal();
  j["intermediate_size"] = nullptr;  // null is absent, and this field has no default
  REQUIRE_THROWS_WITH(config::vision_config_from_json(j, "config.json"),
                      Catch::Contains("missing required field 'intermediate_size'"));
  j = minimal();
  j["hidden_size"] = "3200";
  REQUIRE_THROWS_WITH(config::vision_config_from_json(j, "config.json"),
                      Catch::Contains("'hidden_size' must be an integer"));
  for (const nlohmann::json& too_big : {nlohmann::json(std::int64_t{1} << 40), nlohmann::json(~std::uint64_t{0}),
                                       nlohmann::json(std::int64_t{-1} << 40)}) {  // would wrap into an int
    j = minimal();
    j["hidden_size"] = too_big;
    REQUIRE_THROWS_WITH(config::vision_config_from_json(j, "config.json"),
                        Catch::Contains("'hidden_size' is out of range"));
  }
  j = minimal();
  j["image_size"] = 230;
  REQUIRE_THROWS_WITH(config::vision_config_from_json(j, "config.json"), Catch::Contains("'image_size'"));
  j = minimal();
  j["hidden_act"] = "relu";
  REQUIRE_THROWS_WITH(config::vision_config_from_json(j, "config.json"), Catch::Contains("'hidden_act'"));
  j = minimal();
  j["image_size"] = nlohmann::json::array({448, 224});
  REQUIRE_THROWS_WITH(config::vision_config_from_json(j, "config.json"), Catch::Contains("must be square"));
  REQUIRE_THROWS_WITH(config::vision_config_from_json(nlohmann::json::array(), "config.json"),
                      Catch::Contains("JSON object"));
}

TEST_CASE("a config matching no compiled preset takes the runtime-shaped path", "[config]") {
  auto j = minimal();
  j["num_hidden_layers"] = 40;
  bool dynamic = false;
  config::visit_vision_preset(config::vision_config_from_json(j, "config.json"),
                              [&]<class P>() { dynamic = presets::is_dynamic_v<P>; });
  REQUIRE(dynamic);
}

TEST_CASE("parameter counts and FLOPs of the presets", "[config]") {
  STATIC_REQUIRE(presets::InternViT6B_224::value.parameter_count() == 5'902'793'600);
  STATIC_REQUIRE(presets::InternViT300M_448::value.parameter_count() == 304'012'288);
  // 6B-224: 48 blocks on 257 tokens: 2·257·(4·3200² + 2·3200·12800)·48 + attention 4·257²·3200·48 + patch embed.
  const double expected =
      48 * (8.0 * 257 * 3200 * 3200 + 4.0 * 257 * 257 * 3200 + 4.0 * 257 * 3200 * 12800) + 2.0 * 256 * 588 * 3200;
  REQUIRE(presets::InternViT6B_224::value.flops_per_image() == Approx(expected));
  REQUIRE(presets::InternViT6B_224::value.flops_per_image() ==
          Approx(3.07e12).epsilon(0.01));  // ≈ 0.5 s at 6.2 TFLOP/s
}

TEST_CASE("the InternVL configs/*.json mirror their presets", "[config]") {
  check_internvl_mirror<presets::InternVL14B_224>("InternVL-14B-224px");
  check_internvl_mirror<presets::TinyInternVL>("tiny-InternVL");
}

TEST_CASE("InternVL config.json: top-level fields reach QLLaMA, absent fields take the official defaults", "[config]") {
  auto j = read_config("InternVL-14B-224px");
  j.erase("num_query_token");
  j["qllama_config"]["num_query_token"] = 32;           // ignored: the top level rules, as in InternVLConfig
  j["qllama_config"]["cross_attention_frequency"] = 4;  // ignored likewise
  j["qllama_config"].erase("rms_norm_eps");
  const config::InternVLConfig c = config::internvl_config_from_json(j, "config.json");
  REQUIRE(c.qllama_config.num_query_token == 96);
  REQUIRE(c.qllama_config.cross_attention_frequency == 2);
  REQUIRE(c.qllama_config.rms_norm_eps == 1e-6);
  REQUIRE(c.qllama_config.vision_hidden_size == 3200);
  REQUIRE(c == presets::InternVL14B_224::value);
  j["cross_attention_frequency"] = 4;
  j["num_query_token"] = 32;
  j["force_image_size"] = 364;
  const config::InternVLConfig d = config::internvl_config_from_json(j, "config.json");
  REQUIRE(d.qllama_config.cross_attention_frequency == 4);
  REQUIRE(d.qllama_config.cross_attention_layers() == 8);
  REQUIRE(d.qllama_config.num_query_token == 32);
  REQUIRE(d.image_size() == 364);
  bool dynamic = false;
  config::visit_internvl_preset(d, [&]<class P>() { dynamic = presets::is_dynamic_v<P>; });
  REQUIRE(dynamic);
  // A QLLaMA whose config.json leaves out tie_word_embeddings gets LlamaConfig's default (untied).
  REQUIRE_FALSE(c.qllama_config.tie_word_embeddings);
  REQUIRE(config::kLlamaConfigDefaults.vocab_size == 32000);
}

TEST_CASE("InternVL configs survive a round trip through config.json", "[config]") {
  for (const config::InternVLConfig& c : {presets::InternVL14B_224::value, presets::TinyInternVL::value}) {
    REQUIRE(config::differences(config::internvl_config_from_json(config::to_json(c), "config.json"), c).empty());
  }
  config::InternVLConfig forced = presets::TinyInternVL::value;
  forced.force_image_size = 70;
  REQUIRE(config::internvl_config_from_json(config::to_json(forced), "config.json") == forced);
}

TEST_CASE("impossible or unsupported InternVL config values are errors naming the field", "[config]") {
  const auto base = read_config("InternVL-14B-224px");
  const auto refused = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = base;
    edit(j);
    return config::internvl_config_from_json(j, "dir/config.json");
  };
  REQUIRE_THROWS_WITH(refused([](auto& j) { j["qllama_config"]["num_attention_heads"] = 30; }),
                      Catch::Contains("dir/config.json (qllama_config)") && Catch::Contains("'num_attention_heads'"));
  REQUIRE_THROWS_WITH(refused([](auto& j) { j["qllama_config"]["num_attention_heads"] = 4096; }),  // head dim 1: odd
                      Catch::Contains("'num_attention_heads'"));
  REQUIRE_THROWS_WITH(refused([](auto& j) { j["qllama_config"].erase("vocab_size"); }),
                      Catch::Contains("missing required field 'vocab_size'"));
  REQUIRE_THROWS_WITH(refused([](auto& j) {
                        j["qllama_config"]["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
                      }),
                      Catch::Contains("'rope_scaling' is set"));
  REQUIRE_THROWS_WITH(refused([](auto& j) { j["qllama_config"]["tie_word_embeddings"] = 1; }),
                      Catch::Contains("'tie_word_embeddings' must be true or false"));
  REQUIRE_THROWS_WITH(refused([](auto& j) { j["qllama_config"] = 3; }),
                      Catch::Contains("field 'qllama_config' must be a JSON object"));
  REQUIRE_THROWS_WITH(refused([](auto& j) { j["attn_pool_num_heads"] = 7; }), Catch::Contains("'attn_pool_num_heads'"));
  REQUIRE_THROWS_WITH(refused([](auto& j) { j["num_query_token"] = 0; }), Catch::Contains("'num_query_token'"));
  REQUIRE_THROWS_WITH(refused([](auto& j) { j["force_image_size"] = 300; }), Catch::Contains("'force_image_size'"));
  REQUIRE_THROWS_WITH(refused([](auto& j) { j["use_qllama_lora"] = 16; }),
                      Catch::Contains("'use_qllama_lora' is 16") && Catch::Contains("merge the LoRA weights"));
  REQUIRE_THROWS_WITH(refused([](auto& j) { j["vision_config"]["num_attention_heads"] = 7; }),
                      Catch::Contains("(vision_config)") && Catch::Contains("'num_attention_heads'"));
  REQUIRE_THROWS_WITH(refused([](auto& j) { j.erase("vision_config"); }),
                      Catch::Contains("missing required field 'vision_config'"));
}

TEST_CASE("QLLaMA and InternVL parameter counts and FLOPs", "[config]") {
  // Facts §2.5: plain LLaMA-7B with this vocabulary, 6,885,494,784, plus 16 cross-attention blocks.
  constexpr auto q = presets::QLlama7B::value;
  STATIC_REQUIRE(2 * q.embedding_parameter_count() + 32 * q.layer_parameter_count() + 4096 == 6'885'494'784);
  STATIC_REQUIRE(q.parameter_count() == 6'885'494'784 + 956'418'048);
  config::QLlamaConfig tied = q;
  tied.tie_word_embeddings = true;
  REQUIRE(tied.parameter_count() == q.parameter_count() - q.embedding_parameter_count());
  // 96 queries: 32 layers of 2·96·(4·4096² + 3·4096·11008) + 4·96²·4096, plus 16 cross-attention blocks
  // (q and o on 96 rows, k and v on 257 tokens of 3200, scores and values 96×257).
  const double layers = 32 * (8.0 * 96 * 4096 * 4096 + 4.0 * 96 * 96 * 4096 + 6.0 * 96 * 4096 * 11008);
  const double cross = 16 * (4.0 * 96 * 4096 * 4096 + 4.0 * 257 * 3200 * 4096 + 4.0 * 96 * 257 * 4096);
  REQUIRE(q.flops_queries(257) == Approx(layers + cross));
}
