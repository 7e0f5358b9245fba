// Head files: one classification or segmentation head as a .safetensors file with the official
// parameter names (facts §5, §6) and a JSON description under the metadata key "internvl_head":
//   {"type": "linear_probe" | "attention_pool_probe" | "seg_linear" | "seg_upernet",
//    "num_classes": K, "bn_eps": ε_BN, "ln_eps": ε_LN (attention_pool_probe, seg_upernet),
//    "layer": b (probes: optional, default the last block; seg_linear: required)
//    | "layers": [b0, b1, b2, b3] (seg_upernet), 0-based block indices: hidden state b + 1,
//    "num_heads": H (attention_pool_probe), "channels": C, "pool_scales": [1, 2, 3, 6] (seg_upernet),
//    "crop_size": 504, "stride": 322 (segmentation), "labels": [K names], "palette": [K × [r, g, b]]}
// labels and palette are optional; every other key a type uses is required, and unknown keys are
// refused (a misspelt field must not fall back silently). Errors name the file and the field/tensor.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "internvl/core/error.hpp"
#include "internvl/io/json.hpp"
#include "internvl/io/safetensors.hpp"

namespace internvl::heads {

enum class HeadType { linear_probe, attention_pool_probe, seg_linear, seg_upernet };

inline std::string_view name_of(HeadType t) {
  switch (t) {
    case HeadType::linear_probe:
      return "linear_probe";
    case HeadType::attention_pool_probe:
      return "attention_pool_probe";
    case HeadType::seg_linear:
      return "seg_linear";
    case HeadType::seg_upernet:
      return "seg_upernet";
  }
  return "?";
}

inline bool is_segmentation(HeadType t) { return t == HeadType::seg_linear || t == HeadType::seg_upernet; }

using Rgb = std::array<std::uint8_t, 3>;

// The "internvl_head" description of a head file, validated.
struct HeadDescription {
  HeadType type = HeadType::linear_probe;
  index_t num_classes = 0;
  float bn_eps = 0.0f;
  float ln_eps = 0.0f;                // attention_pool_probe, seg_upernet
  std::vector<int> layers;            // 0-based blocks; empty: the backbone's last block (probes)
  index_t num_heads = 0;              // attention_pool_probe
  index_t channels = 0;               // seg_upernet
  std::vector<index_t> pool_scales;   // seg_upernet
  index_t crop_size = 0, stride = 0;  // segmentation
  std::vector<std::string> labels;    // num_classes names, or empty
  std::vector<Rgb> palette;           // num_classes colours, or empty
};

namespace detail {

class DescriptionReader {
 public:
  DescriptionReader(const nlohmann::json& json, std::string where) : json_(json), where_(std::move(where)) {}

  bool has(const char* key) {
    known_.insert(key);
    return json_.contains(key);
  }
  const nlohmann::json& at(const char* key) {
    INTERNVL_CHECK(has(key), where_, "field '", key, "' is missing");
    return json_.at(key);
  }
  index_t positive(const char* key) {
    const nlohmann::json& v = at(key);
    INTERNVL_CHECK(v.is_number_integer() && v.get<std::int64_t>() > 0, where_, "field '", key,
                   "' must be a positive integer, got ", v.dump());
    return v.get<index_t>();
  }
  float eps(const char* key) {
    const nlohmann::json& v = at(key);
    INTERNVL_CHECK(v.is_number() && v.get<double>() >= 0.0 && v.get<double>() < 1.0, where_, "field '", key,
                   "' must be a number in [0, 1), got ", v.dump());
    return v.get<float>();
  }
  int block(const nlohmann::json& v, const char* key) {
    INTERNVL_CHECK(v.is_number_integer() && v.get<std::int64_t>() >= 0 && v.get<std::int64_t>() < 100000, where_,
                   "field '", key, "' must hold 0-based block indices, got ", v.dump());
    return v.get<int>();
  }
  const nlohmann::json& array(const char* key) {
    const nlohmann::json& v = at(key);
    INTERNVL_CHECK(v.is_array(), where_, "field '", key, "' must be an array, got ", v.dump());
    return v;
  }
  // Every key of the description must have been asked for by the type's reader.
  void refuse_unknown() const {
    for (const auto& item : json_.items()) {
      INTERNVL_CHECK(known_.count(item.key()) != 0, where_, "unknown field '", item.key(), "' for a head of this type");
    }
  }
  const std::string& where() const { return where_; }

 private:
  const nlohmann::json& json_;
  std::string where_;
  std::set<std::string, std::less<>> known_;
};

inline HeadType parse_head_type(const nlohmann::json& v, const std::string& where) {
  for (HeadType t :
       {HeadType::linear_probe, HeadType::attention_pool_probe, HeadType::seg_linear, HeadType::seg_upernet}) {
    if (v.is_string() && v.get<std::string>() == name_of(t)) {
      return t;
    }
  }
  fail(where, "field 'type' is ", v.dump(),
       "; expected \"linear_probe\", \"attention_pool_probe\", \"seg_linear\" or \"seg_upernet\"");
}

}  // namespace detail

// Parses and validates a description; `where` names the file in errors.
inline HeadDescription parse_head_description(const nlohmann::json& json, const std::string& where) {
  INTERNVL_CHECK(json.is_object(), where, "the \"internvl_head\" description must be a JSON object, got ", json.dump());
  detail::DescriptionReader r(json, where + ": \"internvl_head\"");
  HeadDescription d;
  d.type = detail::parse_head_type(r.at("type"), r.where());
  d.num_classes = r.positive("num_classes");
  d.bn_eps = r.eps("bn_eps");
  const bool segmentation = is_segmentation(d.type);
  if (d.type == HeadType::attention_pool_probe || d.type == HeadType::seg_upernet) {
    d.ln_eps = r.eps("ln_eps");
  }
  if (d.type == HeadType::seg_upernet) {
    const nlohmann::json& layers = r.array("layers");
    INTERNVL_CHECK(layers.size() == 4, r.where(), "field 'layers' must name 4 blocks (one per pyramid level), got ",
                   layers.dump());
    for (const nlohmann::json& v : layers) {
      d.layers.push_back(r.block(v, "layers"));
    }
    d.channels = r.positive("channels");
    for (const nlohmann::json& v : r.array("pool_scales")) {
      INTERNVL_CHECK(v.is_number_integer() && v.get<std::int64_t>() > 0, r.where(),
                     "field 'pool_scales' must hold positive integers, got ", json.at("pool_scales").dump());
      d.pool_scales.push_back(v.get<index_t>());
    }
    INTERNVL_CHECK(!d.pool_scales.empty(), r.where(), "field 'pool_scales' is empty");
  } else if (d.type == HeadType::seg_linear || r.has("layer")) {
    d.layers.push_back(r.block(r.at("layer"), "layer"));
  }
  if (d.type == HeadType::attention_pool_probe) {
    d.num_heads = r.positive("num_heads");
  }
  if (segmentation) {
    d.crop_size = r.positive("crop_size");
    d.stride = r.positive("stride");
    INTERNVL_CHECK(d.stride <= d.crop_size, r.where(), "field 'stride' (", d.stride, ") exceeds 'crop_size' (",
                   d.crop_size, "): sliding windows would leave pixels between them uncovered");
  }
  if (r.has("labels")) {
    const nlohmann::json& labels = r.array("labels");
    INTERNVL_CHECK(static_cast<index_t>(labels.size()) == d.num_classes, r.where(), "field 'labels' has ",
                   labels.size(), " names for ", d.num_classes, " classes");
    for (const nlohmann::json& v : labels) {
      INTERNVL_CHECK(v.is_string() && !v.get<std::string>().empty() &&
                         v.get<std::string>().find_first_of("\r\n") == std::string::npos,
                     r.where(), "field 'labels' must hold non-empty strings of one line, got ", v.dump());
      d.labels.push_back(v.get<std::string>());
    }
  }
  if (r.has("palette")) {
    const nlohmann::json& palette = r.array("palette");
    INTERNVL_CHECK(static_cast<index_t>(palette.size()) == d.num_classes, r.where(), "field 'palette' has ",
                   palette.size(), " colours for ", d.num_classes, " classes");
    for (const nlohmann::json& v : palette) {
      bool ok = v.is_array() && v.size() == 3;
      for (std::size_t c = 0; ok && c < 3; ++c) {
        ok = v[c].is_number_integer() && v[c].get<std::int64_t>() >= 0 && v[c].get<std::int64_t>() <= 255;
      }
      INTERNVL_CHECK(ok, r.where(), "field 'palette' must hold [r, g, b] triples of 0..255, got ", v.dump());
      d.palette.push_back({v[0].get<std::uint8_t>(), v[1].get<std::uint8_t>(), v[2].get<std::uint8_t>()});
    }
  }
  r.refuse_unknown();
  return d;
}

// A head file, opened (memory-mapped) and its description validated. Tensors are fetched by name
// with their expected shape; `unexpected_names()` lists the tensors nobody asked for (BatchNorm's
// num_batches_tracked counters excepted), which the head loaders refuse.
class HeadFile {
 public:
  explicit HeadFile(const std::string& path) : file_(std::make_shared<io::SafetensorsFile>(checked(path))) {
    const auto& metadata = file_->metadata();
    const auto it = metadata.find("internvl_head");
    INTERNVL_CHECK(it != metadata.end(), path,
                   "not a head file: its safetensors metadata has no \"internvl_head\" description (convert official "
                   ".pth heads with scripts/convert_heads.py)");
    description_ = parse_head_description(io::parse_json(it->second, path + ": \"internvl_head\""), path);
  }

  const std::string& path() const { return file_->path(); }
  const HeadDescription& description() const { return description_; }
  HeadType type() const { return description_.type; }
  // Owns the mapping the weight views point into.
  std::shared_ptr<const void> keep_alive() const { return file_; }

  bool has(const std::string& name) const { return file_->has(name); }
  // The tensor `name` with shape `expected`, in its stored dtype (F32, BF16 or F16).
  template <std::size_t R>
  WeightView<R> weight(const std::string& name, const Extents<R>& expected) const {
    INTERNVL_CHECK(file_->has(name), path(), "no tensor '", name, "', which a ", name_of(type()), " head needs");
    used_.insert(name);
    return file_->tensor(name).view(expected);
  }

  std::vector<std::string> unexpected_names() const {
    std::vector<std::string> names;
    for (const std::string& name : file_->names()) {
      const bool counter = name.ends_with(".num_batches_tracked");
      if (used_.count(name) == 0 && !counter) {
        names.push_back(name);
      }
    }
    return names;
  }
  // Throws if the file holds tensors its type does not use (say, a UperNet tensor in a linear head).
  void refuse_unexpected() const {
    const std::vector<std::string> extra = unexpected_names();
    INTERNVL_CHECK(extra.empty(), path(), "unexpected tensor '", extra.empty() ? "" : extra.front(), "' for a ",
                   name_of(type()), " head (", extra.size(), " unexpected in all)");
  }

 private:
  static std::string checked(const std::string& path) {
    std::error_code ec;
    INTERNVL_CHECK(std::filesystem::exists(path, ec), path, "no such head file");
    INTERNVL_CHECK(std::filesystem::is_regular_file(path, ec), path, "not a regular file, so not a head file");
    return path;
  }

  std::shared_ptr<io::SafetensorsFile> file_;
  HeadDescription description_;
  mutable std::set<std::string, std::less<>> used_;
};

}  // namespace internvl::heads
