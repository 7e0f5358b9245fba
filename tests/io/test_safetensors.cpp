// SafetensorsFile against files Python's safetensors wrote (tests/golden/safetensors/make.py): every
// value read back exactly through the typed views, every dtype of the format listed, unaligned data
// copied, typed-access errors, and a corpus of broken files that must each be refused by name.
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>

#include "expected_tensors.hpp"
#include "internvl/io/json.hpp"
#include "internvl/io/safetensors.hpp"
#include "internvl/io/to_f32.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

std::string fixture(const std::string& name) { return testing::golden_path("safetensors/" + name); }

}  // namespace

TEST_CASE("reads every tensor Python's safetensors wrote, exactly", "[safetensors]") {
  const nlohmann::json expected = io::read_json_file(fixture("expected.json"));
  const io::SafetensorsFile file(fixture("single/model.safetensors"));
  REQUIRE(file.size() == expected["single"].size());
  REQUIRE(file.copied_tensor_count() == 0);  // Python's writer aligns: everything is zero-copy
  REQUIRE(file.metadata() == std::map<std::string, std::string>{{"format", "pt"}});
  for (const auto& [name, entry] : expected["single"].items()) {
    testing::check_against_expected(file.tensor(name), entry);
  }
  for (const std::string shard : {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}) {
    const io::SafetensorsFile part(fixture("sharded/" + shard));
    for (const io::StoredTensor& t : part.tensors()) {
      testing::check_against_expected(t, expected["sharded"].at(t.name()));
    }
  }
}

TEST_CASE("typed views point straight into the file and check dtype, rank and shape", "[safetensors]") {
  const io::SafetensorsFile file(fixture("single/model.safetensors"));
  const io::StoredTensor& qkv = file.tensor("encoder.layers.0.attn.qkv.weight");
  REQUIRE(qkv.stored_dtype() == io::StoredDType::BF16);
  REQUIRE(qkv.dtype() == DType::bf16);

  const WeightView<2> w = qkv.view(Extents<2>{24, 8});
  REQUIRE(w.dtype() == DType::bf16);
  REQUIRE(w.data() == qkv.bytes().data());  // zero-copy
  const CView<bf16, 2> typed = qkv.typed<bf16, 2>(Extents<2>{24, 8});
  REQUIRE(typed.data() == w.data());
  REQUIRE(typed.is_contiguous());
  std::uint16_t first = 0;
  std::memcpy(&first, qkv.bytes().data() + 2 * (8 * 3 + 5), 2);  // element (3, 5)
  REQUIRE(typed(3, 5).bits == first);

  const std::string where = "model.safetensors";
  REQUIRE_THROWS_WITH(qkv.view(Extents<2>{8, 24}), Catch::Contains(where) &&
                                                       Catch::Contains("tensor 'encoder.layers.0.attn.qkv.weight'") &&
                                                       Catch::Contains("has shape [24, 8], expected [8, 24]"));
  REQUIRE_THROWS_WITH(qkv.view<3>(), Catch::Contains("has shape [24, 8] (rank 2), expected rank 3"));
  REQUIRE_THROWS_WITH((qkv.typed<float, 2>()), Catch::Contains("is BF16, expected F32"));
  REQUIRE_THROWS_WITH((qkv.typed<f16, 2>()), Catch::Contains("is BF16, expected F16"));
  const io::StoredTensor& counter = file.tensor("norm.num_batches_tracked");
  REQUIRE(counter.rank() == 0);
  REQUIRE(counter.numel() == 1);
  REQUIRE_FALSE(counter.has_element_type());
  REQUIRE_THROWS_WITH(counter.view<1>(), Catch::Contains(where) &&
                                             Catch::Contains("'norm.num_batches_tracked' is I64 []") &&
                                             Catch::Contains("only F32, BF16 and F16"));
  REQUIRE_THROWS_WITH(file.tensor("encoder.layers.1.ls1"),
                      Catch::Contains(where) && Catch::Contains("no tensor named 'encoder.layers.1.ls1'"));
  REQUIRE(file.find("encoder.layers.1.ls1") == nullptr);
  REQUIRE(file.has("encoder.layers.0.ls1"));
}

TEST_CASE("views stay valid when the file object moves", "[safetensors]") {
  io::SafetensorsFile file(fixture("single/model.safetensors"));
  const CView<float, 1> ls1 = file.tensor("encoder.layers.0.ls1").typed<float, 1>();
  const float first = ls1(0);
  const io::SafetensorsFile moved = std::move(file);
  REQUIRE(moved.tensor("encoder.layers.0.ls1").typed<float, 1>().data() == ls1.data());
  REQUIRE(ls1(0) == first);
}

TEST_CASE("every dtype of the format is parsed and listed", "[safetensors]") {
  const io::SafetensorsFile file(fixture("all_dtypes.safetensors"));
  const std::map<std::string, std::string> expected = {
      {"bf16", "BF16"}, {"bool", "BOOL"}, {"c64", "C64"},         {"empty_f32", "F32"},   {"f16", "F16"},
      {"f32", "F32"},   {"f64", "F64"},   {"f8_e4m3", "F8_E4M3"}, {"f8_e5m2", "F8_E5M2"}, {"i16", "I16"},
      {"i32", "I32"},   {"i64", "I64"},   {"i8", "I8"},           {"u16", "U16"},         {"u32", "U32"},
      {"u64", "U64"},   {"u8", "U8"}};
  std::map<std::string, std::string> found;
  for (const io::StoredTensor& t : file.tensors()) {
    found[t.name()] = std::string(io::name_of(t.stored_dtype()));
  }
  REQUIRE(found == expected);

  double f64[2];
  std::memcpy(f64, file.tensor("f64").bytes().data(), 16);
  REQUIRE(f64[0] == 1.5);
  REQUIRE(f64[1] == -2.0);
  REQUIRE(file.tensor("i8").bytes().size() == 3);
  REQUIRE(static_cast<std::int8_t>(file.tensor("i8").bytes()[1]) == -8);
  REQUIRE(static_cast<std::uint8_t>(file.tensor("u8").bytes()[0]) == 250);
  REQUIRE(file.tensor("c64").bytes().size() == 8);
  const io::StoredTensor& empty = file.tensor("empty_f32");
  REQUIRE(empty.numel() == 0);
  REQUIRE(empty.typed<float, 2>(Extents<2>{0, 3}).numel() == 0);
  REQUIRE(io::to_f32(file.tensor("f16").view<1>())(2) == 3.0f);
  REQUIRE(io::to_f32(file.tensor("bf16").view<1>())(0) == -1.0f);
}

TEST_CASE("unaligned float data is copied into aligned memory and read exactly", "[safetensors]") {
  const io::SafetensorsFile file(fixture("misaligned.safetensors"));
  REQUIRE(file.copied_tensor_count() == 2);
  REQUIRE(file.metadata() == std::map<std::string, std::string>{{"purpose", "alignment"}, {"writer", "make.py"}});
  const CView<float, 1> w = file.tensor("w").typed<float, 1>();
  REQUIRE(reinterpret_cast<std::uintptr_t>(w.data()) % alignof(float) == 0);
  REQUIRE(w(0) == 1.5f);
  REQUIRE(w(1) == -2.25f);
  const CView<bf16, 1> h = file.tensor("h").typed<bf16, 1>();
  REQUIRE(static_cast<float>(h(0)) == 1.0f);
  REQUIRE(static_cast<float>(h(1)) == -2.0f);
  REQUIRE(static_cast<float>(h(2)) == 3.0f);
  REQUIRE(static_cast<std::uint8_t>(file.tensor("bytes").bytes()[2]) == 3);
}

TEST_CASE("fields the format does not define are ignored, as the reference reader ignores them", "[safetensors]") {
  const io::SafetensorsFile file(fixture("extra_field.safetensors"));
  const CView<float, 1> w = file.tensor("w").typed<float, 1>(Extents<1>{2});
  REQUIRE(w(0) == 0.5f);
  REQUIRE(w(1) == 4.0f);
}

TEST_CASE("broken files are refused with an error naming the file and the problem", "[safetensors]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty", "file is 0 bytes, shorter than the 8-byte header length"},
      {"short", "file is 5 bytes, shorter than the 8-byte header length"},
      {"truncated", "are out of range: past the end of the"},
      {"header_past_end", "runs past the end of the file"},
      {"header_absurd", "header length 4611686018427387904 is absurd"},
      {"malformed_json", "malformed JSON: parse error at line 1, column"},
      {"not_utf8", "malformed JSON"},
      {"nul_in_header", "malformed JSON: NUL byte at offset 2"},
      {"header_not_object", "header is a JSON array, expected an object"},
      {"entry_not_object", "tensor 'w': header entry is 5, expected an object"},
      {"missing_offsets", "tensor 'w': missing field 'data_offsets'"},
      {"unknown_dtype", "tensor 'w': unknown dtype \"F128\""},
      {"dtype_not_string", "tensor 'w': dtype is 32, expected a string"},
      {"negative_dim", "tensor 'w': shape dimension 0 is -1, expected a non-negative integer"},
      {"fractional_dim", "tensor 'w': shape dimension 0 is 2.5, expected a non-negative integer"},
      {"shape_not_array", "tensor 'w': shape is 1, expected an array"},
      {"shape_overflow", "tensor 'w': shape [1099511627776, 1099511627776]... has too many elements"},
      {"subbyte_not_whole", "tensor 'w': 3 elements of F4 do not fill whole bytes"},
      {"offsets_not_pair", "tensor 'w': data_offsets is a JSON array, expected [begin, end]"},
      {"negative_offset", "tensor 'w': data_offsets begin is -4, expected a non-negative integer"},
      {"wrong_byte_length", "tensor 'w': shape [3] of F32 needs 12 bytes, but data_offsets [0, 8) hold 8"},
      {"reversed_offsets", "tensor 'w': data_offsets [8, 0) are reversed"},
      {"out_of_range", "tensor 'v': data_offsets [8, 16) are out of range: past the end of the 12-byte data section"},
      {"overlapping", "tensor 'b': data_offsets [4, 12) overlap tensor 'a' [0, 8)"},
      {"hole", "hole in the data section: bytes [8, 12) belong to no tensor"},
      {"hole_at_start", "hole in the data section: bytes [0, 4) belong to no tensor"},
      {"trailing_bytes", "hole in the data section: bytes [4, 8) at its end belong to no tensor"},
      {"duplicate_name", "duplicate JSON key 'w'"},
      {"duplicate_field", "duplicate JSON key 'w.dtype'"},
      {"metadata_not_strings", "__metadata__ entry 'format' is 1, expected a string"},
      {"deep_nesting", "JSON nested deeper than 64 levels at '__metadata__'"},
  };
  for (const auto& [name, message] : cases) {
    INFO(name);
    const std::string path = fixture("bad/" + name + ".safetensors");
    REQUIRE_THROWS_WITH(io::SafetensorsFile(path), Catch::Contains(path) && Catch::Contains(message));
  }
  std::size_t corpus = 0;
  for (const auto& entry : std::filesystem::directory_iterator(fixture("bad"))) {
    corpus += entry.path().extension() == ".safetensors" ? 1 : 0;
  }
  REQUIRE(corpus == cases.size());  // every broken file in the corpus is checked above
}

TEST_CASE("what is not a regular file is refused without blocking", "[safetensors]") {
  REQUIRE_THROWS_WITH(io::SafetensorsFile(fixture("bad")), Catch::Contains("not a regular file"));
  REQUIRE_THROWS_WITH(io::SafetensorsFile(fixture("does_not_exist.safetensors")),
                      Catch::Contains("does_not_exist.safetensors: cannot open file"));
  const auto fifo = std::filesystem::temp_directory_path() / ("internvl_fifo_" + std::to_string(::getpid()));
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  REQUIRE_THROWS_WITH(io::SafetensorsFile(fifo.string()), Catch::Contains("not a regular file"));
  std::filesystem::remove(fifo);
}
