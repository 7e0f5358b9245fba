// ModelDir over directories written by tests/golden/safetensors/make.py: a single file with the
// original names, two shards with the transformers names (values checked exactly), unused-tensor
// tracking, f32 conversion of stored vectors, and broken or unsearchable directories refused by name.
#include <unistd.h>

#include <bit>
#include <catch2/catch.hpp>
#include <filesystem>

#include "expected_tensors.hpp"
#include "internvl/io/model_dir.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

std::string fixture(const std::string& name) { return testing::golden_path("safetensors/" + name); }

std::vector<std::uint32_t> f32_bits(const Tensor<float, 1>& t) {
  std::vector<std::uint32_t> bits;
  for (index_t i = 0; i < t.numel(); ++i) {
    bits.push_back(std::bit_cast<std::uint32_t>(t.data()[i]));
  }
  return bits;
}

// While it lives, the process looks at files as the user nobody when it runs as root (who may search
// any directory); the saved set-user-ID lets it switch back.
class AsUnprivilegedUser {
 public:
  AsUnprivilegedUser() : switched_(geteuid() == 0 && seteuid(65534) == 0) {}
  ~AsUnprivilegedUser() {
    if (switched_) {
      static_cast<void>(seteuid(0));
    }
  }
  AsUnprivilegedUser(const AsUnprivilegedUser&) = delete;
  AsUnprivilegedUser& operator=(const AsUnprivilegedUser&) = delete;
  bool unprivileged() const { return geteuid() != 0; }

 private:
  bool switched_;
};

}  // namespace

TEST_CASE("a single-file directory: config, names, views, usage", "[model_dir]") {
  const io::ModelDir dir(fixture("single"));
  REQUIRE(dir.has_config());
  REQUIRE(dir.config().at("hidden_size") == 8);
  REQUIRE(dir.config().at("norm_type") == "rms_norm");
  REQUIRE(dir.files().size() == 1);
  REQUIRE(dir.size() == 19);
  REQUIRE(dir.names().front() == "embeddings.class_embedding");
  REQUIRE(dir.index_metadata().empty());
  REQUIRE(dir.unused_names().size() == 19);

  REQUIRE(dir.has("encoder.layers.0.attn.qkv.weight"));
  REQUIRE(dir.unused_names().size() == 19);  // has() is not a read
  const WeightView<2> qkv = dir.weight("encoder.layers.0.attn.qkv.weight", Extents<2>{24, 8});
  REQUIRE(qkv.dtype() == DType::bf16);
  const io::StoredTensor& pos = dir.tensor("embeddings.position_embedding", Extents<3>{1, 5, 8});
  REQUIRE(pos.stored_dtype() == io::StoredDType::F32);
  const CView<float, 3> pos_view = pos.typed<float, 3>();
  REQUIRE(std::isinf(pos_view(0, 0, 0)));
  REQUIRE(std::signbit(pos_view(0, 0, 2)));
  REQUIRE(pos_view(0, 0, 2) == 0.0f);

  const auto unused = dir.unused_names();
  REQUIRE(unused.size() == 17);
  REQUIRE(std::find(unused.begin(), unused.end(), "encoder.layers.0.attn.qkv.weight") == unused.end());
  REQUIRE(std::find(unused.begin(), unused.end(), "norm.num_batches_tracked") != unused.end());

  REQUIRE_THROWS_WITH(dir.tensor("blocks.0.attn.qkv.weight"),
                      Catch::Contains("single") && Catch::Contains("no tensor named 'blocks.0.attn.qkv.weight'") &&
                          Catch::Contains("19 tensors"));
  REQUIRE_THROWS_WITH(
      dir.weight("encoder.layers.0.ls1", Extents<1>{9}),
      Catch::Contains("model.safetensors") && Catch::Contains("'encoder.layers.0.ls1' has shape [8], expected [9]"));
  REQUIRE_THROWS_WITH(dir.vector_f32("norm.num_batches_tracked", 1), Catch::Contains("has shape [], expected [1]"));
}

TEST_CASE("stored vectors of every float dtype convert to f32 exactly", "[model_dir]") {
  const nlohmann::json expected = io::read_json_file(fixture("expected.json"))["single"];
  const io::ModelDir dir(fixture("single"));
  for (const std::string name : {"encoder.layers.0.ls1",              // F32
                                 "encoder.layers.0.attn.proj.bias",   // BF16
                                 "encoder.layers.0.norm1.weight"}) {  // F16
    INFO(name);
    const Tensor<float, 1> v = dir.vector_f32(name, 8);
    REQUIRE(f32_bits(v) == expected[name]["f32_bits"].get<std::vector<std::uint32_t>>());
  }
  const Tensor<float, 3> cls = dir.tensor_f32("embeddings.class_embedding", Extents<3>{1, 1, 8});
  REQUIRE(std::bit_cast<std::uint32_t>(cls(0, 0, 7)) ==
          expected["embeddings.class_embedding"]["f32_bits"][7].get<std::uint32_t>());
}

TEST_CASE("a sharded directory reads every tensor from the shard the index names", "[model_dir]") {
  const nlohmann::json expected = io::read_json_file(fixture("expected.json"))["sharded"];
  const io::ModelDir dir(fixture("sharded"));
  REQUIRE(dir.files().size() == 2);
  REQUIRE(dir.size() == expected.size());
  REQUIRE(dir.config().at("vision_config").at("use_qk_norm") == true);
  REQUIRE(dir.index_metadata().at("total_size").get<std::int64_t>() > 0);
  for (const auto& [name, entry] : expected.items()) {
    testing::check_against_expected(dir.tensor(name), entry);
  }
  const std::string_view second_shard = "model-00002-of-00002.safetensors";
  REQUIRE(dir.tensor("vision_tower.encoder.layer.0.lambda_2").file().ends_with(second_shard));
  REQUIRE(dir.unused_names().empty());
}

TEST_CASE("views from a ModelDir survive moving it", "[model_dir]") {
  io::ModelDir dir(fixture("sharded"));
  const CView<float, 1> lambda = dir.tensor("vision_tower.encoder.layer.0.lambda_1").typed<float, 1>();
  const float first = lambda(0);
  std::vector<io::ModelDir> owners;
  owners.push_back(std::move(dir));
  REQUIRE(lambda(0) == first);
  REQUIRE(owners[0].tensor("vision_tower.encoder.layer.0.lambda_1").typed<float, 1>().data() == lambda.data());
  REQUIRE(owners[0].unused_names().size() == owners[0].size() - 1);  // usage moved along
}

TEST_CASE("broken directories are refused with an error naming the file and the problem", "[model_dir]") {
  const std::string index = "model.safetensors.index.json";
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"dir_missing_shard", {index, "missing shard 'model-00002-of-00002.safetensors'", "weight_map maps tensor"}},
      {"dir_index_names_absent_tensor",
       {index,
        "weight_map maps tensor 'vision_tower.ghost.weight' to shard 'model-00001-of-00002.safetensors', "
        "which has no such tensor"}},
      {"dir_tensor_in_two_shards",
       {index, "tensor 'vision_tower.embeddings.cls_token' is in two shards", "model-00001-of-00002.safetensors and ",
        "model-00002-of-00002.safetensors"}},
      {"dir_unlisted_tensor",
       {index,
        "shard 'model-00002-of-00002.safetensors' holds tensor 'vision_tower.encoder.layer.0.lambda_2', "
        "which weight_map does not list"}},
      {"dir_wrong_shard",
       {index,
        "maps tensor 'vision_tower.encoder.layer.0.lambda_2' to shard 'model-00001-of-00002.safetensors', "
        "but it is in shard 'model-00002-of-00002.safetensors'"}},
      {"dir_shard_path_escapes", {index, "to '../model-00002-of-00002.safetensors', which is not a plain file name"}},
      {"dir_malformed_index", {index, "malformed JSON: parse error at line 1, column 26"}},
      {"dir_malformed_config", {"config.json", "malformed JSON: parse error at line 4, column 13"}},
      {"dir_no_weights",
       {"dir_no_weights", "no model.safetensors or model.safetensors.index.json",
        "PyTorch .bin checkpoints are not read"}},
      {"dir_bad_shard", {"dir_bad_shard/model.safetensors", "overlap tensor 'a'"}},
  };
  for (const auto& [name, parts] : cases) {
    INFO(name);
    const std::string path = fixture("bad/" + name);
    try {
      io::ModelDir dir(path);
      FAIL("no error");
    } catch (const Error& e) {
      const std::string message = e.what();
      INFO(message);
      for (const std::string& part : parts) {
        REQUIRE_THAT(message, Catch::Contains(part));
      }
      REQUIRE_THAT(message, Catch::Contains(path));
    }
  }
  REQUIRE_THROWS_WITH(io::ModelDir(fixture("bad/empty.safetensors")), Catch::Contains("not a directory"));
  REQUIRE_THROWS_WITH(io::ModelDir(fixture("no_such_dir")), Catch::Contains("no_such_dir: not a directory"));
}

TEST_CASE("a directory without config.json opens; config() then names the missing file", "[model_dir]") {
  const io::ModelDir dir(fixture("no_config"));
  REQUIRE_FALSE(dir.has_config());
  REQUIRE_THROWS_WITH(dir.config(), Catch::Contains("no_config/config.json: file not found"));
  REQUIRE(dir.tensor("w").typed<float, 1>()(1) == -2.25f);
}

TEST_CASE("a directory this process may not search is named with the reason, not as missing files", "[model_dir]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("internvl_unsearchable_" + std::to_string(getpid()));
  fs::create_directory(dir);
  fs::copy_file(fixture("no_config/model.safetensors"), dir / "model.safetensors");
  fs::permissions(dir, fs::perms::none);
  std::string message = "no error";
  bool unprivileged = false;
  {
    const AsUnprivilegedUser guard;
    unprivileged = guard.unprivileged();
    try {
      io::ModelDir unsearchable(dir);
    } catch (const Error& e) {
      message = e.what();
    }
  }
  fs::permissions(dir, fs::perms::owner_all);
  fs::remove_all(dir);
  if (!unprivileged) {
    WARN("running as root without permission to switch to another user: nothing to check");
    return;
  }
  REQUIRE_THAT(message, Catch::Contains((dir / "config.json").string() + ": cannot be looked up: Permission denied"));
}
