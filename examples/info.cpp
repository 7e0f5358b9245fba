// info: what a model directory holds and how internvl-cpp will run it.
//
//   build/examples/info --model DIR
//
// Prints the path taken (the compiled preset config.json matches, or the runtime-shaped path), every
// config field, the parameter count counted from the loaded tensors next to the count the config
// implies, the bytes of the weights by dtype, the FLOPs per image at the native resolution, and the cpu
// backend's threads and matrix kernels on this machine (INTERNVL_NUM_THREADS, INTERNVL_CPU_ISA).
#include <cstdio>
#include <map>

#include "internvl/backend/cpu/all.hpp"
#include "internvl/core/memory.hpp"
#include "internvl/models/load_intern_vit.hpp"
#include "support/cli.hpp"

using namespace internvl;

namespace {

constexpr const char* kUsage =
    "usage: info --model DIR\n"
    "  Prints the preset picked for an InternViT model directory, its config, parameter count, bytes and FLOPs.\n";

int run(const examples::Cli& cli) {
  auto dir = std::make_shared<const io::ModelDir>(cli.require("--model"));
  const config::VisionConfig c = models::read_vision_config(*dir);
  return models::visit_intern_vit<backend::cpu>(dir, c, [&]<class Model>(Model& model) {
    // Counted once the load has checked that the checkpoint holds no tensor the config leaves out
    // (tensor() marks a name as read).
    std::map<std::string, std::pair<std::size_t, std::size_t>> by_dtype;  // dtype -> (tensors, bytes)
    for (const std::string& name : dir->names()) {
      const io::StoredTensor& t = dir->tensor(name);
      auto& [count, bytes] = by_dtype[std::string(io::name_of(t.stored_dtype()))];
      ++count;
      bytes += t.bytes().size();
    }
    std::printf("model      %s\n", dir->path().c_str());
    if constexpr (Model::is_compiled) {
      std::printf("path       compiled preset %s\n", std::string(Model::preset_type::name).c_str());
    } else {
      std::printf("path       runtime-shaped (config.json matches no compiled preset)\n");
    }
    std::printf("config\n");
    config::for_each_field(c, [](std::string_view field, const auto& value) {
      std::printf("  %-22s %s\n", std::string(field).c_str(), config::value_string(value).c_str());
    });
    const std::int64_t expected = c.parameter_count();
    std::printf("parameters %lld loaded, %lld from the config (%s)\n", static_cast<long long>(model.parameter_count()),
                static_cast<long long>(expected), model.parameter_count() == expected ? "equal" : "DIFFERENT");
    for (const auto& [dtype, stats] : by_dtype) {
      std::printf("weights    %zu tensors in %s, %.3f GB\n", stats.first, dtype.c_str(), stats.second * 1e-9);
    }
    std::printf("tokens     %d per %dx%d image, head dim %d\n", c.tokens(), c.image_size, c.image_size, c.head_dim());
    std::printf("FLOPs      %.4g per image at %d px (%.4g at 448 px)\n", c.flops_per_image(), c.image_size,
                c.flops_per_image(448));
    std::printf("memory     peak RSS %.1f MB (weights are memory-mapped, read on use)\n", peak_rss_bytes() * 1e-6);
    const cpu::Isa isa = cpu::active_isa();
    std::printf("cpu        %d threads; matrix products on the %s kernels, with --precision bf16 on the %s kernels\n",
                static_cast<int>(default_thread_pool().size()), cpu::packed::kernel_set(isa, cpu::Precision::f32).name,
                cpu::packed::kernel_set(isa, cpu::Precision::bf16).name);
    return model.parameter_count() == expected ? 0 : 1;
  });
}

}  // namespace

int main(int argc, char** argv) {
  const examples::Cli cli(argc, argv, kUsage, {"--model"});
  return examples::run_reporting_errors([&] { return run(cli); });
}
