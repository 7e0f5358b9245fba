// ModelDir: a Hugging Face model directory, opened and cross-checked in full by the constructor.
//   config.json                    (optional here; config() throws when it is absent)
//   model.safetensors              one file, or, when it is absent,
//   model.safetensors.index.json   {"metadata": {...}, "weight_map": {tensor name: shard file name}}
//   + the shards it names          (plain file names inside the directory)
// The weight_map must agree with the shards exactly: a missing shard, a name mapped to a shard that
// lacks it, a shard tensor the map does not list, or a tensor held by two shards is an error naming
// the file. tensor(name) marks the name as read, so a loader can report the checkpoint's unused
// (unexpected) tensors with unused_names(). All files stay mapped while the ModelDir lives: views
// and StoredTensor references from it are valid until it is destroyed (moving it keeps them valid).
#pragma once

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "internvl/io/json.hpp"
#include "internvl/io/safetensors.hpp"
#include "internvl/io/to_f32.hpp"

namespace internvl::io {

class ModelDir {
 public:
  explicit ModelDir(const std::filesystem::path& dir) : path_(dir) {
    INTERNVL_CHECK(type_of(dir) == std::filesystem::file_type::directory, dir.string(), "not a directory");
    if (const auto config = dir / "config.json"; exists(config)) {
      config_ = read_json_file(config.string());
      INTERNVL_CHECK(config_.is_object(), config.string(), "expected a JSON object, found a JSON ",
                     config_.type_name());
    }
    if (exists(dir / "model.safetensors")) {  // preferred over an index, as transformers does
      files_.emplace_back((dir / "model.safetensors").string());
    } else if (exists(dir / "model.safetensors.index.json")) {
      open_shards(dir / "model.safetensors.index.json");
    } else {
      const bool pickle = exists(dir / "pytorch_model.bin") || exists(dir / "pytorch_model.bin.index.json");
      fail(dir.string(), "no model.safetensors or model.safetensors.index.json",
           pickle ? " (PyTorch .bin checkpoints are not read: convert them with safetensors.torch.save_file)" : "");
    }
    index_tensors();
  }

  const std::filesystem::path& path() const { return path_; }

  bool has_config() const { return !config_.is_null(); }
  const nlohmann::json& config() const {
    INTERNVL_CHECK(has_config(), (path_ / "config.json").string(), "file not found");
    return config_;
  }
  // The index's "metadata" object (empty for a single file); informational, total_size is not checked.
  const nlohmann::json& index_metadata() const { return index_metadata_; }

  // The safetensors files, in the order of their names.
  const std::vector<SafetensorsFile>& files() const { return files_; }
  std::size_t size() const { return entries_.size(); }
  // Every tensor name, sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> names;
    for (const StoredTensor* t : entries_) {
      names.push_back(t->name());
    }
    return names;
  }
  bool has(std::string_view name) const { return find(name) != entries_.end(); }

  // The tensor called `name` (an error naming the directory if there is none); marks it as read.
  const StoredTensor& tensor(std::string_view name) const {
    const auto it = find(name);
    INTERNVL_CHECK(it != entries_.end(), path_.string(), "no tensor named '", name, "' (the checkpoint has ",
                   entries_.size(), " tensors)");
    used_[static_cast<std::size_t>(it - entries_.begin())].store(true, std::memory_order_relaxed);
    return **it;
  }
  // The same, after checking that its shape is `expected_shape`.
  template <std::size_t R>
  const StoredTensor& tensor(std::string_view name, const Extents<R>& expected_shape) const {
    const StoredTensor& t = tensor(name);
    t.check_shape(expected_shape);
    return t;
  }
  // A weight of the expected shape, zero-copy, in its stored element type.
  template <std::size_t R>
  WeightView<R> weight(std::string_view name, const Extents<R>& expected_shape) const {
    return tensor(name).view(expected_shape);
  }
  // An f32 copy of a tensor of the expected shape stored as F32, BF16 or F16.
  template <std::size_t R>
  Tensor<float, R> tensor_f32(std::string_view name, const Extents<R>& expected_shape) const {
    return to_f32(weight(name, expected_shape));
  }
  // An f32 copy of a vector (norm weight, bias, layer scale) of the expected length.
  Tensor<float, 1> vector_f32(std::string_view name, index_t expected_length) const {
    return tensor_f32(name, Extents<1>{expected_length});
  }

  // Names no tensor() call has asked for yet, sorted: the checkpoint's unexpected tensors.
  std::vector<std::string> unused_names() const {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (!used_[i].load(std::memory_order_relaxed)) {
        names.push_back(entries_[i]->name());
      }
    }
    return names;
  }

 private:
  // The type of the file at `p` (not_found when there is none); an error naming `p` when it cannot be
  // looked up, e.g. in a directory this process may not search. A file that exists but cannot be
  // read is found here; opening it then reports why.
  static std::filesystem::file_type type_of(const std::filesystem::path& p) {
    std::error_code error;
    const std::filesystem::file_type type = std::filesystem::status(p, error).type();
    INTERNVL_CHECK(!error || type == std::filesystem::file_type::not_found, p.string(), "cannot be looked up: ",
                   error.message());
    return type;
  }
  static bool exists(const std::filesystem::path& p) { return type_of(p) != std::filesystem::file_type::not_found; }

  std::vector<const StoredTensor*>::const_iterator find(std::string_view name) const {
    const auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                                     [](const StoredTensor* t, std::string_view n) { return t->name() < n; });
    return it != entries_.end() && (*it)->name() == name ? it : entries_.end();
  }

  void open_shards(const std::filesystem::path& index_path) {
    const std::string where = index_path.string();
    const nlohmann::json index = read_json_file(where);
    INTERNVL_CHECK(index.is_object(), where, "expected a JSON object with a weight_map");
    if (const auto metadata = index.find("metadata"); metadata != index.end()) {
      INTERNVL_CHECK(metadata->is_object(), where, "metadata is a JSON ", metadata->type_name(),
                     ", expected an object");
      index_metadata_ = *metadata;
    }
    const auto weight_map = index.find("weight_map");
    INTERNVL_CHECK(weight_map != index.end() && weight_map->is_object(), where,
                   "expected a \"weight_map\" object mapping tensor names to shard files");

    std::map<std::string, std::string> shard_of;         // tensor name -> shard file name
    std::map<std::string, std::string> first_tensor_of;  // shard file name -> a tensor it should hold
    for (const auto& item : weight_map->items()) {
      INTERNVL_CHECK(item.value().is_string(), where, "weight_map entry '", item.key(), "' is a JSON ",
                     item.value().type_name(), ", expected a shard file name");
      const std::string& shard = item.value().get_ref<const std::string&>();
      INTERNVL_CHECK(!shard.empty() && shard != "." && shard != ".." && shard.find('/') == std::string::npos &&
                         shard.find('\\') == std::string::npos,
                     where, "weight_map maps tensor '", item.key(), "' to '", shard,
                     "', which is not a plain file name in the model directory");
      shard_of.emplace(item.key(), shard);
      first_tensor_of.emplace(shard, item.key());
    }
    for (const auto& [shard, tensor] : first_tensor_of) {
      const std::filesystem::path shard_path = path_ / shard;
      INTERNVL_CHECK(exists(shard_path), where, "missing shard '", shard, "' (weight_map maps tensor '", tensor,
                     "' to it; expected at ", shard_path.string(), ")");
      files_.emplace_back(shard_path.string());
    }

    std::map<std::string_view, const SafetensorsFile*> holder;  // tensor name -> the shard holding it
    for (const SafetensorsFile& file : files_) {
      for (const StoredTensor& t : file.tensors()) {
        const auto [it, fresh] = holder.emplace(t.name(), &file);
        INTERNVL_CHECK(fresh, where, "tensor '", t.name(), "' is in two shards: ", it->second->path(), " and ",
                       file.path());
      }
    }
    for (const SafetensorsFile& file : files_) {
      const std::string shard = std::filesystem::path(file.path()).filename().string();
      for (const StoredTensor& t : file.tensors()) {
        const auto mapped = shard_of.find(t.name());
        INTERNVL_CHECK(mapped != shard_of.end(), where, "shard '", shard, "' holds tensor '", t.name(),
                       "', which weight_map does not list");
        INTERNVL_CHECK(mapped->second == shard, where, "weight_map maps tensor '", t.name(), "' to shard '",
                       mapped->second, "', but it is in shard '", shard, "'");
      }
    }
    for (const auto& [name, shard] : shard_of) {
      INTERNVL_CHECK(holder.count(name) == 1, where, "weight_map maps tensor '", name, "' to shard '", shard,
                     "', which has no such tensor");
    }
  }

  void index_tensors() {
    for (const SafetensorsFile& file : files_) {
      for (const StoredTensor& t : file.tensors()) {
        entries_.push_back(&t);
      }
    }
    std::sort(entries_.begin(), entries_.end(),
              [](const StoredTensor* a, const StoredTensor* b) { return a->name() < b->name(); });
    used_ = std::make_unique<std::atomic<bool>[]>(entries_.size());
  }

  std::filesystem::path path_;
  nlohmann::json config_;
  nlohmann::json index_metadata_ = nlohmann::json::object();
  std::vector<SafetensorsFile> files_;
  std::vector<const StoredTensor*> entries_;   // sorted by name; they live in files_' heap contents
  std::unique_ptr<std::atomic<bool>[]> used_;  // used_[i]: entries_[i] was asked for
};

}  // namespace internvl::io
