// InternViT forward pass on a model directory (usually random weights of a real size, written by
// scripts/make_random_checkpoint.py): time per batch, GFLOP/s (config FLOPs / time), peak RSS.
// cpu_time is the whole process's CPU time (all threads), which time taken by other programs on a
// shared machine does not inflate; compare_pytorch.py derives a second rate from it. One untimed
// forward pass runs before the timed ones.
//
//   build/benchmarks/models/bench_intern_vit --model DIR [--image-size S] [--batch B] [--compute f32|bf16]
//                                            [--prepack] [--profile]
//                                            [Google Benchmark flags, e.g. --benchmark_repetitions=3]
// --compute bf16 runs the matrix products in bf16 (cpu::Precision::bf16; activations stay f32).
// --prepack packs the weights once, in the untimed pass, and reads them packed
// (Context<backend::cpu>::set_weight_prepacking); the untimed pass's time is printed to stderr.
// --profile runs one more untimed pass, op by op (core/op_profile.hpp), and prints its table to stderr:
// where the time goes on machines without perf (with --benchmark_filter=^$ it runs nothing else).
// Threads: INTERNVL_NUM_THREADS. benchmarks/compare_pytorch.py runs it next to PyTorch.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "internvl/backend/cpu/all.hpp"
#include "internvl/core/memory.hpp"
#include "internvl/models/load_intern_vit.hpp"

using namespace internvl;

namespace {

struct Options {
  std::string model;
  int image_size = 0;  // 0: the model's own
  int batch = 1;
  std::string compute = "f32";  // the model's compute type: f32 or bf16
  bool prepack = false;
  bool profile = false;
};

// Takes our flags out of argv, leaving Google Benchmark's.
Options parse(int& argc, char** argv) {
  Options o;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const auto value = [&](const char* flag) -> const char* {
      return std::strcmp(argv[i], flag) == 0 && i + 1 < argc ? argv[++i] : nullptr;
    };
    if (const char* v = value("--model")) {
      o.model = v;
    } else if (const char* s = value("--image-size")) {
      o.image_size = std::atoi(s);
    } else if (const char* b = value("--batch")) {
      o.batch = std::atoi(b);
    } else if (const char* t = value("--compute")) {
      o.compute = t;
    } else if (std::strcmp(argv[i], "--prepack") == 0) {
      o.prepack = true;
    } else if (std::strcmp(argv[i], "--profile") == 0) {
      o.profile = true;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (options.model.empty() || (options.compute != "f32" && options.compute != "bf16")) {
    std::fprintf(stderr,
                 "usage: bench_intern_vit --model DIR [--image-size S] [--batch B] [--compute f32|bf16] "
                 "[--prepack] [--profile] [benchmark flags]\n");
    return 2;
  }
  const cpu::Precision precision = options.compute == "bf16" ? cpu::Precision::bf16 : cpu::Precision::f32;
  try {
    auto dir = std::make_shared<const io::ModelDir>(options.model);
    const config::VisionConfig c = models::read_vision_config(*dir);
    models::visit_intern_vit<backend::cpu>(dir, c, [&]<class Model>(Model& model) {
      const int side = options.image_size > 0 ? options.image_size : c.image_size;
      Tensor<float, 4> pixels(Extents<4>{options.batch, 3, side, side});
      for (index_t i = 0; i < pixels.numel(); ++i) {
        pixels.data()[i] = static_cast<float>((i * 7919) % 1000) / 500.0f - 1.0f;
      }
      const double flops = c.flops_per_image(side) * options.batch;
      const std::string name = std::string(Model::preset_type::name) + "/" + std::to_string(side) + "px/batch" +
                               std::to_string(options.batch) + "/threads" +
                               std::to_string(default_thread_pool().size()) + "/" + options.compute +
                               (options.prepack ? "/prepacked" : "");
      // One untimed pass first, as PyTorch's side does: the weights' pages are touched, the workspace
      // has grown and the position table for this grid is made before any timing.
      Context<backend::cpu> ctx;
      ctx.set_matmul_precision(precision);
      ctx.set_weight_prepacking(options.prepack);
      const int last[] = {-1};
      const auto first = std::chrono::steady_clock::now();
      model.forward(ctx, pixels.view(), last, [](int, CView<float, 3>) {});
      std::fprintf(stderr, "untimed first pass%s: %.3f s\n", options.prepack ? " (packs the weights)" : "",
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - first).count());
      if (options.profile) {
        OpProfile profile;
        ctx.set_op_profile(&profile);
        const auto start = std::chrono::steady_clock::now();
        model.forward(ctx, pixels.view(), last, [](int, CView<float, 3>) {});
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        ctx.set_op_profile(nullptr);
        std::fprintf(stderr, "%s: one pass %.3f s, %.1f GFLOP/s, ops %.3f s of it (%s):\n%s", name.c_str(), seconds,
                     flops * 1e-9 / seconds, profile.total_seconds(), std::string(cpu::active_isa_name()).c_str(),
                     profile.table().c_str());
      }
      benchmark::RegisterBenchmark(
          name.c_str(),
          [&](benchmark::State& state) {
            for (auto _ : state) {
              model.forward(ctx, pixels.view(), last,
                            [](int, CView<float, 3> hidden) { benchmark::DoNotOptimize(hidden.data()); });
            }
            state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
            state.counters["peak_RSS_GB"] = static_cast<double>(peak_rss_bytes()) * 1e-9;
          })
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MeasureProcessCPUTime();
      benchmark::AddCustomContext("cpu_isa", std::string(cpu::active_isa_name()));
      benchmark::RunSpecifiedBenchmarks();
    });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  benchmark::Shutdown();
  return 0;
}
