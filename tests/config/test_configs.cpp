// configs/*.json against the compiled presets, field by field (Hana reflection), and config.json
// parsing: both naming schemes, defaults for absent fields, errors that name the field.
#include <catch2/catch.hpp>

#include <fstream>

#include "internvl/config/preset_select.hpp"
#include "internvl/config/vision_json.hpp"

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
  j["hidden_size"] = "3200";
  REQUIRE_THROWS_WITH(config::vision_config_from_json(j, "config.json"), Catch::Contains("'hidden_size' must be an integer"));
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
  const double expected = 48 * (8.0 * 257 * 3200 * 3200 + 4.0 * 257 * 257 * 3200 + 4.0 * 257 * 3200 * 12800) +
                          2.0 * 256 * 588 * 3200;
  REQUIRE(presets::InternViT6B_224::value.flops_per_image() == Approx(expected));
  REQUIRE(presets::InternViT6B_224::value.flops_per_image() == Approx(3.07e12).epsilon(0.01));  // ≈ 0.5 s at 6.2 TFLOP/s
}
