// InternViT-6B forward passes on CUDA in bf16: InternViT-6B-224px (48 blocks, 257 tokens) and
// InternViT-6B-448px-V1-5 (45 blocks, 1025 tokens) at batch 1, 8 and 32, with random weights created
// directly on the device (one set of 48 blocks shared by both models; no checkpoint files). Each
// configuration runs once eagerly (plans, workspace), is timed eagerly and as a CUDA graph replay
// (backend/cuda/graph.cuh), medians of CUDA-event timings. Reported: images/s, model TFLOP/s
// (VisionConfig::flops_per_image) and model FLOP utilisation against the measured bf16 rate of
// ops::linear on an 8192³ product, and the workspace allocations after the first pass (0 expected).
// benchmarks/cuda/torch_intern_vit.py times PyTorch on the same configurations.
//
//   bench_cuda_intern_vit [--out FILE.json] [--batches 1,8,32] [--images 224,448] [--min-seconds S]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gpu_timing.cuh"
#include "internvl/config/presets.hpp"
#include "internvl/models/intern_vit.hpp"

using namespace internvl;
namespace gpu = internvl::cuda;

namespace {

struct Options {
  std::string out;
  std::vector<int> batches{1, 8, 32};
  std::vector<int> images{224, 448};
  double min_seconds = 0.8;  // timed per configuration and mode (at least 2 passes)
};

std::vector<int> int_list(const char* text) {
  std::vector<int> values;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    values.push_back(std::atoi(item.c_str()));
  }
  return values;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--out") == 0) {
      o.out = argv[i + 1];
    } else if (std::strcmp(argv[i], "--batches") == 0) {
      o.batches = int_list(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--images") == 0) {
      o.images = int_list(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--min-seconds") == 0) {
      o.min_seconds = std::atof(argv[i + 1]);
    } else {
      std::fprintf(stderr, "unknown argument %s\n", argv[i]);
      std::exit(2);
    }
  }
  return o;
}

// Device tensors that live as long as the models (the encoder's keep_alive).
class DeviceArena {
 public:
  template <class T, std::size_t Rank>
  View<T, Rank> make(Context<backend::cuda>& ctx, const Extents<Rank>& shape, float lo, float hi) {
    index_t n = 1;
    for (index_t e : shape) {
      n *= e;
    }
    buffers_.emplace_back(static_cast<std::size_t>(n) * sizeof(T));
    const View<T, Rank> v(reinterpret_cast<T*>(buffers_.back().data()), shape);
    bench::fill_uniform(ctx, v, seed_++, lo, hi);
    return v;
  }

 private:
  std::vector<gpu::DeviceBuffer<std::byte>> buffers_;
  std::uint32_t seed_ = 1;
};

// Random InternViT-6B weights: `layers` blocks and the embeddings; matrices bf16 scaled for unit-variance
// outputs, norm weights near 1, layer scales near 0.1 (as trained models have them).
models::VisionWeights random_weights(Context<backend::cuda>& ctx, DeviceArena& arena, const config::VisionConfig& c,
                                     int layers) {
  const index_t d = c.hidden_size, f = c.intermediate_size, patch_len = 3 * c.patch_size * c.patch_size;
  const auto matrix = [&](index_t rows, index_t cols) {
    const float a = std::sqrt(3.0f / static_cast<float>(cols));
    return WeightView<2>(CView<bf16, 2>(arena.make<bf16>(ctx, Extents<2>{rows, cols}, -a, a)));
  };
  const auto vector = [&](index_t n, float lo, float hi) {
    return CView<float, 1>(arena.make<float>(ctx, Extents<1>{n}, lo, hi));
  };
  models::VisionWeights w;
  w.patch_weight = matrix(d, patch_len);
  w.patch_bias = vector(d, -0.02f, 0.02f);
  w.class_embedding = vector(d, -0.02f, 0.02f);
  for (int i = 0; i < layers; ++i) {
    models::VisionLayerWeights l;
    l.norm1_weight = vector(d, 0.8f, 1.2f);
    l.qkv.parts.push_back(matrix(3 * d, d));
    l.q_norm = vector(d, 0.8f, 1.2f);
    l.k_norm = vector(d, 0.8f, 1.2f);
    l.proj = matrix(d, d);
    l.proj_bias = vector(d, -0.02f, 0.02f);
    l.ls1 = vector(d, 0.05f, 0.15f);
    l.norm2_weight = vector(d, 0.8f, 1.2f);
    l.fc1 = matrix(f, d);
    l.fc1_bias = vector(f, -0.02f, 0.02f);
    l.fc2 = matrix(d, f);
    l.fc2_bias = vector(d, -0.02f, 0.02f);
    l.ls2 = vector(d, 0.05f, 0.15f);
    w.layers.push_back(std::move(l));
  }
  return w;
}

// The encoder of `c` over the first c.num_hidden_layers shared blocks, with its own position table.
models::VisionEncoder<backend::cuda, bf16> make_encoder(Context<backend::cuda>& ctx, DeviceArena& arena,
                                                        std::shared_ptr<DeviceArena> keep_alive,
                                                        const config::VisionConfig& c,
                                                        const models::VisionWeights& shared) {
  models::VisionWeights w = shared;
  w.layers.resize(static_cast<std::size_t>(c.num_hidden_layers));
  const View<float, 2> positions = arena.make<float>(ctx, Extents<2>{c.tokens(), c.hidden_size}, -0.02f, 0.02f);
  w.position_embedding = positions;
  Tensor<float, 2> host_positions = gpu::download(ctx, CView<float, 2>(positions));
  return models::VisionEncoder<backend::cuda, bf16>(c, std::move(w), std::move(host_positions),
                                                    std::make_shared<models::WeightStore<backend::cuda, bf16>>(),
                                                    std::move(keep_alive));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median seconds per call of fn over at least 2 calls and about `min_seconds`.
template <class Fn>
double time_passes(Context<backend::cuda>& ctx, double estimate, double min_seconds, Fn&& fn) {
  bench::EventPair events;
  const int passes = static_cast<int>(std::clamp(min_seconds / std::max(estimate, 1e-6), 2.0, 50.0));
  std::vector<double> seconds;
  for (int i = 0; i < passes; ++i) {
    seconds.push_back(events.seconds(ctx, fn));
  }
  return median(seconds);
}

// bf16 ops::linear on 8192³ (the rate MFU is measured against).
double gemm_ceiling_tflops(Context<backend::cuda>& ctx) {
  constexpr index_t n = 8192;
  gpu::DeviceTensor<bf16, 2> x(Extents<2>{n, n}), w(Extents<2>{n, n}), y(Extents<2>{n, n});
  bench::fill_uniform(ctx, x.view(), 11u);
  bench::fill_uniform(ctx, w.view(), 12u, -0.02f, 0.02f);
  const auto call = [&] { ops::linear(ctx, y.view(), CView<bf16, 2>(x.view()), CView<bf16, 2>(w.view())); };
  bench::EventPair events;
  const double first = events.seconds(ctx, [&] {
    for (int i = 0; i < 3; ++i) {
      call();
    }
  }) / 3;
  const double seconds = time_passes(ctx, first * 10, 0.3, [&] {
    for (int i = 0; i < 10; ++i) {
      call();
    }
  }) / 10;
  return 2.0 * n * n * n / seconds / 1e12;
}

struct Result {
  std::string model;
  int image = 0, blocks = 0, tokens = 0, batch = 0;
  double eager_ms = 0, graph_ms = 0;
  bool graph = false;
  double images_per_s = 0, tflops = 0, mfu = 0;
  long long allocations_after_first = -1;
  std::string error;
};

Result run_config(Context<backend::cuda>& ctx, models::VisionEncoder<backend::cuda, bf16>& model, const char* name,
                  int batch, double ceiling, double min_seconds) {
  const config::VisionConfig& c = model.config();
  Result r;
  r.model = name;
  r.image = c.image_size;
  r.blocks = c.num_hidden_layers;
  r.tokens = c.tokens();
  r.batch = batch;
  try {
    gpu::DeviceTensor<bf16, 4> pixels(Extents<4>{batch, 3, c.image_size, c.image_size});
    bench::fill_uniform(ctx, pixels.view(), 77u, -2.0f, 2.0f);
    const int last[] = {-1};
    const auto forward = [&] {
      model.forward(ctx, CView<bf16, 4>(pixels.view()), last,
                    [](int, CView<bf16, 3> hidden) { benchmark::DoNotOptimize(hidden.data()); });
    };
    bench::EventPair events;
    const double first = events.seconds(ctx, forward);  // plans, workspace growth
    const std::size_t allocations = ctx.workspace().allocation_count();
    r.eager_ms = 1e3 * time_passes(ctx, first, min_seconds, forward);
    double best = r.eager_ms;
    try {
      const gpu::Graph graph(ctx, forward);
      r.graph_ms = 1e3 * time_passes(ctx, r.eager_ms * 1e-3, min_seconds, [&] { graph.replay(ctx); });
      r.graph = true;
      best = std::min(best, r.graph_ms);
    } catch (const std::exception& e) {
      r.error = std::string("graph capture failed: ") + e.what();
    }
    r.allocations_after_first = static_cast<long long>(ctx.workspace().allocation_count() - allocations);
    r.images_per_s = batch / (best * 1e-3);
    r.tflops = c.flops_per_image() * batch / (best * 1e-3) / 1e12;
    r.mfu = ceiling > 0 ? r.tflops / ceiling : 0;
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  std::printf("%-28s batch %2d: eager %9.2f ms, graph %9.2f ms, %8.1f images/s, %6.1f TFLOP/s, MFU %5.1f%%, "
              "allocations after the first pass %lld%s%s\n",
              name, batch, r.eager_ms, r.graph_ms, r.images_per_s, r.tflops, 100 * r.mfu, r.allocations_after_first,
              r.error.empty() ? "" : "; ", r.error.c_str());
  std::fflush(stdout);
  return r;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
    }
    out += (ch == '\n' ? ' ' : ch);
  }
  return out;
}

void write_json(const std::string& path, const std::string& device, double ceiling, const std::vector<Result>& results) {
  std::ofstream f(path);
  f << "{\n \"device\": \"" << json_escape(device) << "\",\n \"ceiling_tflops\": " << ceiling << ",\n \"models\": [";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    f << (i ? ",\n" : "\n") << "  {\"model\": \"" << r.model << "\", \"image\": " << r.image << ", \"blocks\": " << r.blocks
      << ", \"tokens\": " << r.tokens << ", \"batch\": " << r.batch << ", \"eager_ms\": " << r.eager_ms
      << ", \"graph_ms\": " << r.graph_ms << ", \"graph\": " << (r.graph ? "true" : "false")
      << ", \"images_per_s\": " << r.images_per_s << ", \"tflops\": " << r.tflops << ", \"mfu\": " << r.mfu
      << ", \"allocations_after_first\": " << r.allocations_after_first << ", \"error\": \"" << json_escape(r.error)
      << "\"}";
  }
  f << "\n ]\n}\n";
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  try {
    Context<backend::cuda> ctx;
    const std::string device = ctx.properties().name;
    const double ceiling = gemm_ceiling_tflops(ctx);
    std::printf("%s: bf16 ops::linear 8192^3 %.1f TFLOP/s (the MFU reference)\n", device.c_str(), ceiling);

    auto arena = std::make_shared<DeviceArena>();
    const config::VisionConfig c224 = presets::InternViT6B_224::value;
    const config::VisionConfig c448 = presets::InternViT6B_448_V1_5::value;
    const models::VisionWeights shared =
        random_weights(ctx, *arena, c224, std::max(c224.num_hidden_layers, c448.num_hidden_layers));
    ctx.synchronize();

    std::vector<Result> results;
    for (const int image : options.images) {
      const config::VisionConfig& c = image == 448 ? c448 : c224;
      const char* name = image == 448 ? presets::InternViT6B_448_V1_5::name.data() : presets::InternViT6B_224::name.data();
      auto model = make_encoder(ctx, *arena, arena, c, shared);
      for (const int batch : options.batches) {
        results.push_back(run_config(ctx, model, name, batch, ceiling, options.min_seconds));
        if (!options.out.empty()) {  // after every configuration: a run cut short keeps what it measured
          write_json(options.out, device, ceiling, results);
        }
      }
    }
    for (const Result& r : results) {
      if (!r.error.empty() && r.images_per_s == 0) {
        return 1;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
