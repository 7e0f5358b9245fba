// Opening a checkpoint: SafetensorsFile maps and validates a file laid out like InternViT-6B in bf16
// (remote-code names, real shapes: 45 blocks = 5.54e9 parameters = 11.07 GB for 448px-V1-5, 48 blocks
// at 224px). Only the header is read, so the time and the resident memory do not grow with the
// weights: rate in tensors validated per second; counters give the file size and the growth of the
// resident set caused by opening it. The file is sparse (ftruncate), so it occupies no disk.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "internvl/core/memory.hpp"
#include "internvl/io/safetensors.hpp"

using namespace internvl;

namespace {

// Writes the header of an InternViT-6B checkpoint with `layers` blocks and `tokens` positions and
// extends the file (sparsely) to its full size; returns the path.
std::string write_sparse_intern_vit_6b(int layers, index_t tokens) {
  constexpr index_t D = 3200, F = 12800, P = 14;
  std::vector<std::pair<std::string, std::vector<index_t>>> tensors = {
      {"embeddings.class_embedding", {1, 1, D}},
      {"embeddings.patch_embedding.weight", {D, 3, P, P}},
      {"embeddings.patch_embedding.bias", {D}},
      {"embeddings.position_embedding", {1, tokens, D}},
  };
  for (int i = 0; i < layers; ++i) {
    const std::string block = "encoder.layers." + std::to_string(i) + ".";
    for (const auto& [name, shape] :
         std::vector<std::pair<std::string, std::vector<index_t>>>{{"norm1.weight", {D}},
                                                                   {"attn.qkv.weight", {3 * D, D}},
                                                                   {"attn.q_norm.weight", {D}},
                                                                   {"attn.k_norm.weight", {D}},
                                                                   {"attn.proj.weight", {D, D}},
                                                                   {"attn.proj.bias", {D}},
                                                                   {"ls1", {D}},
                                                                   {"norm2.weight", {D}},
                                                                   {"mlp.fc1.weight", {F, D}},
                                                                   {"mlp.fc1.bias", {F}},
                                                                   {"mlp.fc2.weight", {D, F}},
                                                                   {"mlp.fc2.bias", {D}},
                                                                   {"ls2", {D}}}) {
      tensors.emplace_back(block + name, shape);
    }
  }
  nlohmann::json header = {{"__metadata__", {{"format", "pt"}}}};
  std::uint64_t offset = 0;
  for (const auto& [name, shape] : tensors) {
    std::uint64_t bytes = 2;
    for (index_t e : shape) {
      bytes *= static_cast<std::uint64_t>(e);
    }
    header[name] = {{"dtype", "BF16"}, {"shape", shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::string path = (std::filesystem::temp_directory_path() / ("internvl_bench_" + std::to_string(::getpid()) +
                                                                      "_" + std::to_string(layers) + ".safetensors"))
                               .string();
  std::ofstream out(path, std::ios::binary);
  const std::uint64_t length = text.size();
  out.write(reinterpret_cast<const char*>(&length), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  std::filesystem::resize_file(path, 8 + text.size() + offset);
  return path;
}

void BM_open_intern_vit_6b(benchmark::State& state) {
  const int layers = static_cast<int>(state.range(0));
  const std::string path = write_sparse_intern_vit_6b(layers, state.range(1));
  const std::size_t rss_before = current_rss_bytes();
  std::size_t tensors = 0;
  {
    const io::SafetensorsFile file(path);
    state.counters["file_GB"] = static_cast<double>(std::filesystem::file_size(path)) * 1e-9;
    state.counters["RSS_growth_MB"] =
        static_cast<double>(current_rss_bytes()) * 1e-6 - static_cast<double>(rss_before) * 1e-6;
    tensors = file.size();
  }
  for (auto _ : state) {
    const io::SafetensorsFile file(path);
    benchmark::DoNotOptimize(file.tensors().data());
  }
  state.counters["tensors/s"] =
      benchmark::Counter(static_cast<double>(tensors), benchmark::Counter::kIsIterationInvariantRate);
  std::filesystem::remove(path);
}
BENCHMARK(BM_open_intern_vit_6b)->Args({45, 1025})->Args({48, 257})->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
