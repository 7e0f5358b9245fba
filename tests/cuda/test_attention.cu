// ops::attention on CUDA against backend::reference (double precision): the fused tensor-core kernel
// at the real InternViT shapes (Q/K/V as strided views into one packed QKV projection), cross attention
// (QLLaMA's 96 queries over 257 image tokens), causal and key-masked attention, tile-boundary sizes, and
// the fallback kernel (f32, other head dims, unaligned rows, scales ≤ 0); QLLaMA's own cases (96 queries
// both ways, right-padded causal texts, cross attention) and the attention-pooling heads (one query, head
// dims 200 and 256); and each configuration of the fused kernel that bench_cuda_attention times, run by
// name (cuda::flash_attention<Cfg>). Relative L2 tolerances: bf16 1e-2, f16 5e-3 (P is rounded to the input type before P·V,
// and the output once), f32 1e-5.
#include <catch2/catch.hpp>

#include <cmath>
#include <optional>
#include <random>

#include "cuda_testing.hpp"
#include "oracle.hpp"

using namespace internvl;
namespace gpu = internvl::cuda;

namespace {

struct Shape {
  index_t batch, queries, keys, heads, head_dim;
};

enum class Layout {
  packed,     // q, k, v are views into one [B, S, 3, H, Dh] buffer (self attention only)
  separate,   // three contiguous [B, S, H, Dh] tensors
  unaligned,  // like packed, with a row pitch that breaks 16-byte alignment
  cache       // q contiguous; k and v the first Sk positions of [B, Sk + kCacheSpare, H, Dh] buffers, as QLLaMA's
              // key/value cache during captioning, the spare positions holding large values no key may read
};

constexpr index_t kCacheSpare = 37;

struct Mask {
  bool causal = false;
  bool key_mask = false;
  bool right_padding = false;  // with key_mask: sequence b sees a prefix of its keys (a right-padded text)
};

// Runs ops::attention (the kernel it picks); RunFlash<Cfg> runs one configuration of the fused kernel.
struct RunOp {
  template <class T>
  void operator()(Context<backend::cuda>& ctx, View<T, 4> out, CView<T, 4> q, CView<T, 4> k, CView<T, 4> v,
                  const ops::AttentionOptions& options) const {
    ops::attention(ctx, out, q, k, v, options);
  }
};

template <class Cfg>
struct RunFlash {
  template <class T>
  void operator()(Context<backend::cuda>& ctx, View<T, 4> out, CView<T, 4> q, CView<T, 4> k, CView<T, 4> v,
                  const ops::AttentionOptions& options) const {
    gpu::flash_attention<Cfg>(ctx, out, q, k, v, options);
  }
};

// Fresh random inputs, rounded to T, in the requested layout; compares with the reference. The scale
// is 1/√Dh unless given.
template <class T, class Run = RunOp>
void check_attention(Context<backend::cuda>& ctx, const Shape& s, Layout layout, Mask mask, std::uint64_t seed,
                     std::optional<float> given_scale = {}, Run run = {}) {
  const index_t width = s.heads * s.head_dim;
  const float scale = given_scale.value_or(1.0f / std::sqrt(static_cast<float>(s.head_dim)));
  // Host copies of q, k, v ([B, S, H, Dh], contiguous) and the device buffers they come from.
  const auto q = testing::rounded_to<T>(testing::random_tensor(Extents<4>{s.batch, s.queries, s.heads, s.head_dim},
                                                               seed, -2.0f, 2.0f));
  const auto k = testing::rounded_to<T>(testing::random_tensor(Extents<4>{s.batch, s.keys, s.heads, s.head_dim},
                                                               seed + 1, -2.0f, 2.0f));
  const auto v = testing::rounded_to<T>(testing::random_tensor(Extents<4>{s.batch, s.keys, s.heads, s.head_dim},
                                                               seed + 2));
  Tensor<std::uint8_t, 2> key_mask(Extents<2>{s.batch, s.keys});
  std::mt19937 gen(static_cast<unsigned>(seed));
  for (index_t b = 0; b < s.batch; ++b) {
    for (index_t j = 0; j < s.keys; ++j) {
      // batch 0: ~70% of keys visible; batch 1 (if any): none, so its queries must come out as 0.
      // Right padding: sequence b has keys − (keys − 1)·b/B real tokens (the first one all of them).
      key_mask(b, j) = mask.right_padding ? static_cast<std::uint8_t>(j < s.keys - (s.keys - 1) * b / s.batch)
                       : b == 1           ? 0
                                          : static_cast<std::uint8_t>(gen() % 10 < 7);
    }
  }
  ops::AttentionOptions options{.scale = scale, .causal = mask.causal};
  if (mask.key_mask) {
    options.key_mask = key_mask.view();
  }
  const auto want = testing::reference_attention(q.view(), k.view(), v.view(), options);

  gpu::DeviceTensor<T, 1> storage;  // every device input lives in here
  View<T, 4> dq, dk, dv;
  if (layout == Layout::separate) {
    storage = gpu::DeviceTensor<T, 1>(Extents<1>{q.numel() + 2 * k.numel()});
    dq = View<T, 4>(storage.data(), q.shape());
    dk = View<T, 4>(storage.data() + q.numel(), k.shape());
    dv = View<T, 4>(storage.data() + q.numel() + k.numel(), v.shape());
    gpu::upload(ctx, testing::convert<T>(q).view(), dq);
    gpu::upload(ctx, testing::convert<T>(k).view(), dk);
    gpu::upload(ctx, testing::convert<T>(v).view(), dv);
  } else if (layout == Layout::cache) {
    const Extents<4> cache_shape{s.batch, s.keys + kCacheSpare, s.heads, s.head_dim};
    const index_t cache_size = cache_shape[0] * cache_shape[1] * cache_shape[2] * cache_shape[3];
    storage = gpu::DeviceTensor<T, 1>(Extents<1>{q.numel() + 2 * cache_size});
    dq = View<T, 4>(storage.data(), q.shape());
    gpu::upload(ctx, testing::convert<T>(q).view(), dq);
    const auto cache_of = [&](const Tensor<float, 4>& filled, float spare) {
      Tensor<T, 4> cache(cache_shape, T(spare));
      for (index_t b = 0; b < s.batch; ++b) {
        for (index_t j = 0; j < s.keys; ++j) {
          for (index_t h = 0; h < s.heads; ++h) {
            for (index_t d = 0; d < s.head_dim; ++d) {
              cache(b, j, h, d) = T(filled(b, j, h, d));
            }
          }
        }
      }
      return cache;
    };
    const View<T, 4> k_cache(storage.data() + q.numel(), cache_shape);
    const View<T, 4> v_cache(storage.data() + q.numel() + cache_size, cache_shape);
    gpu::upload(ctx, cache_of(k, 30.0f).view(), k_cache);
    gpu::upload(ctx, cache_of(v, 1000.0f).view(), v_cache);
    dk = k_cache.slice(1, 0, s.keys);
    dv = v_cache.slice(1, 0, s.keys);
  } else {
    REQUIRE(s.queries == s.keys);
    // One row per token: [q heads | k heads | v heads], as a fused QKV projection writes it.
    const index_t pitch = 3 * width + (layout == Layout::unaligned ? 1 : 0);
    Tensor<T, 2> packed(Extents<2>{s.batch * s.queries, pitch}, T(0.0f));
    for (index_t b = 0; b < s.batch; ++b) {
      for (index_t i = 0; i < s.queries; ++i) {
        for (index_t h = 0; h < s.heads; ++h) {
          for (index_t d = 0; d < s.head_dim; ++d) {
            T* row = &packed(b * s.queries + i, h * s.head_dim + d);
            row[0] = T(q(b, i, h, d));
            row[width] = T(k(b, i, h, d));
            row[2 * width] = T(v(b, i, h, d));
          }
        }
      }
    }
    storage = gpu::DeviceTensor<T, 1>(Extents<1>{packed.numel()});
    gpu::upload(ctx, CView<T, 1>(packed.data(), Extents<1>{packed.numel()}), storage.view());
    const Extents<4> shape{s.batch, s.queries, s.heads, s.head_dim};
    const Extents<4> strides{s.queries * pitch, pitch, s.head_dim, 1};
    dq = View<T, 4>(storage.data(), shape, strides);
    dk = View<T, 4>(storage.data() + width, shape, strides);
    dv = View<T, 4>(storage.data() + 2 * width, shape, strides);
  }
  const auto dmask = gpu::upload(ctx, key_mask.view());
  if (mask.key_mask) {
    options.key_mask = dmask.view();
  }
  auto dout = testing::poisoned<T>(ctx, want.shape());
  run(ctx, dout.view(), CView<T, 4>(dq), CView<T, 4>(dk), CView<T, 4>(dv), options);
  const auto got = testing::to_host(ctx, dout);
  INFO(testing::type_name<T>() << " B " << s.batch << " Sq " << s.queries << " Sk " << s.keys << " H " << s.heads
                               << " Dh " << s.head_dim << " scale " << scale << " layout "
                               << static_cast<int>(layout) << " causal " << mask.causal << " key_mask "
                               << mask.key_mask);
  REQUIRE(testing::relative_l2(got.view(), want.view()) < testing::tolerance<T>());
  if (mask.key_mask && !mask.right_padding && s.batch > 1) {  // batch 1 sees no key at all
    for (index_t i = 0; i < s.queries; ++i) {
      for (index_t h = 0; h < s.heads; ++h) {
        for (index_t d = 0; d < s.head_dim; ++d) {
          REQUIRE(got(1, i, h, d) == 0.0f);
        }
      }
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE("cuda attention matches the reference at InternViT shapes", "[cuda][attention]", bf16, f16) {
  Context<backend::cuda> ctx;
  check_attention<TestType>(ctx, Shape{2, 257, 257, 25, 128}, Layout::packed, {}, 1);    // InternViT-6B, 224 px
  check_attention<TestType>(ctx, Shape{1, 1025, 1025, 16, 64}, Layout::packed, {}, 2);   // InternViT-300M, 448 px
  check_attention<TestType>(ctx, Shape{1, 1297, 1297, 25, 128}, Layout::packed, {}, 3);  // InternViT-6B, 448 px + tiles
  check_attention<TestType>(ctx, Shape{2, 96, 257, 8, 128}, Layout::separate, {}, 4);    // QLLaMA cross attention
}

TEMPLATE_TEST_CASE("cuda attention masks: causal, key mask, both", "[cuda][attention]", bf16, f16) {
  Context<backend::cuda> ctx;
  check_attention<TestType>(ctx, Shape{1, 300, 300, 4, 64}, Layout::packed, {.causal = true}, 11);
  check_attention<TestType>(ctx, Shape{1, 257, 257, 2, 128}, Layout::separate, {.causal = true}, 12);
  check_attention<TestType>(ctx, Shape{2, 200, 200, 3, 128}, Layout::packed, {.key_mask = true}, 13);
  check_attention<TestType>(ctx, Shape{2, 96, 257, 4, 64}, Layout::separate, {.key_mask = true}, 14);
  check_attention<TestType>(ctx, Shape{2, 130, 130, 2, 64}, Layout::packed, {.causal = true, .key_mask = true}, 15);
  // Causal with fewer queries than keys: the queries are the last positions (a text after QLLaMA's 96 queries).
  check_attention<TestType>(ctx, Shape{2, 40, 136, 4, 128}, Layout::separate, {.causal = true}, 16);
  check_attention<TestType>(ctx, Shape{2, 3, 300, 2, 64}, Layout::separate, {.causal = true, .key_mask = true}, 17);
  // Captioning's steps on QLLaMA's key/value cache: a beam's one new token over the prompt and the tokens
  // so far, and the prompt's tokens after the 96 queries, the keys a prefix of a longer cache.
  check_attention<TestType>(ctx, Shape{5, 1, 130, 4, 128}, Layout::cache, {.causal = true}, 18);
  check_attention<TestType>(ctx, Shape{2, 5, 101, 4, 128}, Layout::cache, {.causal = true}, 19);
  check_attention<TestType>(ctx, Shape{3, 1, 64, 2, 64}, Layout::cache, {}, 20);
}

TEMPLATE_TEST_CASE("cuda attention at QLLaMA's shapes and the attention-pooling heads'", "[cuda][attention][qllama]",
                   float, bf16, f16) {
  Context<backend::cuda> ctx;
  const Mask text{.causal = true, .key_mask = true, .right_padding = true};
  // The 96 learned queries attend to each other both ways (32 heads of 128, one packed QKV projection).
  check_attention<TestType>(ctx, Shape{2, 96, 96, 32, 128}, Layout::packed, {}, 301);
  // The text path: causal + key padding, texts right-padded (cut to the longest, 80 tokens at most).
  check_attention<TestType>(ctx, Shape{3, 80, 80, 32, 128}, Layout::packed, text, 302);
  check_attention<TestType>(ctx, Shape{4, 13, 13, 32, 128}, Layout::packed, text, 303);
  // Cross-attention: the 96 queries over the 257 InternViT tokens, K/V from their own projection.
  check_attention<TestType>(ctx, Shape{2, 96, 257, 32, 128}, Layout::separate, {}, 304);
  // Attention pooling: one query (the mean token) over InternViT's 257 tokens in 16 heads of 200, and
  // over QLLaMA's 96 query outputs in 16 heads of 256.
  check_attention<TestType>(ctx, Shape{2, 1, 257, 16, 200}, Layout::separate, {}, 305);
  check_attention<TestType>(ctx, Shape{2, 1, 96, 16, 256}, Layout::separate, {}, 306);
}

TEMPLATE_TEST_CASE("cuda attention at tile boundaries", "[cuda][attention]", bf16, f16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 100;
  for (const index_t head_dim : {64, 128}) {
    for (const auto& [queries, keys] :
         {std::pair<index_t, index_t>{1, 1}, {1, 65}, {17, 33}, {64, 64}, {65, 63}, {128, 129}, {63, 200}}) {
      check_attention<TestType>(ctx, Shape{1, queries, keys, 3, head_dim}, Layout::separate, {}, ++seed);
    }
    check_attention<TestType>(ctx, Shape{1, 65, 65, 3, head_dim}, Layout::packed, {.causal = true}, ++seed);
  }
}

TEMPLATE_TEST_CASE("cuda attention fallback: f32, other head dims, unaligned rows", "[cuda][attention]", float, bf16,
                   f16) {
  Context<backend::cuda> ctx;
  std::uint64_t seed = 200;
  for (const index_t head_dim : {32, 80, 128, 200, 256}) {
    check_attention<TestType>(ctx, Shape{1, 257, 257, 2, head_dim}, Layout::separate, {}, ++seed);
    check_attention<TestType>(ctx, Shape{2, 70, 70, 2, head_dim}, Layout::packed,
                              {.causal = true, .key_mask = true}, ++seed);
  }
  check_attention<TestType>(ctx, Shape{1, 257, 257, 4, 128}, Layout::unaligned, {}, ++seed);
  check_attention<TestType>(ctx, Shape{2, 96, 257, 3, 64}, Layout::separate, {.key_mask = true}, ++seed);
}

// Every configuration of the fused kernel that the benchmark times (cuda::MeasuredFlashAttentions): a real
// InternViT shape whose last block leaves whole warps without queries (1297 = 10·128 + 17 = 20·64 + 17),
// one with a single query in its last block (257), tile-boundary sizes, masks, cross attention.
template <class Cfg>
void check_configuration(Context<backend::cuda>& ctx) {
  constexpr index_t dh = Cfg::kHeadDim;
  const RunFlash<Cfg> run;
  std::uint64_t seed = 400;
  check_attention<bf16>(ctx, Shape{1, 1297, 1297, 3, dh}, Layout::packed, {}, ++seed, {}, run);
  check_attention<bf16>(ctx, Shape{2, 257, 257, 2, dh}, Layout::packed, {}, ++seed, {}, run);
  check_attention<bf16>(ctx, Shape{1, 65, 63, 3, dh}, Layout::separate, {}, ++seed, {}, run);
  check_attention<bf16>(ctx, Shape{1, 129, 200, 2, dh}, Layout::separate, {}, ++seed, {}, run);
  check_attention<bf16>(ctx, Shape{2, 130, 130, 2, dh}, Layout::packed, {.causal = true, .key_mask = true}, ++seed,
                        {}, run);
  check_attention<bf16>(ctx, Shape{2, 96, 257, 2, dh}, Layout::separate, {.key_mask = true}, ++seed, {}, run);
  check_attention<bf16>(ctx, Shape{1, 300, 300, 2, dh}, Layout::packed, {.causal = true}, ++seed, 0.3f, run);
  check_attention<bf16>(ctx, Shape{1, 70, 200, 2, dh}, Layout::separate, {.causal = true, .key_mask = true}, ++seed, {},
                        run);
}

TEST_CASE("cuda flash attention: every configuration matches the reference", "[cuda][attention]") {
  Context<backend::cuda> ctx;
  [&]<class... Cfgs>(gpu::FlashAttentionList<Cfgs...>) {
    (check_configuration<Cfgs>(ctx), ...);
  }(gpu::MeasuredFlashAttentions{});
}

TEST_CASE("cuda attention with a scale of zero or below runs the general kernel", "[cuda][attention]") {
  // The fused kernel folds the scale into 2^(c·S − c·m) with m the largest raw score, true for c > 0 only.
  Context<backend::cuda> ctx;
  check_attention<bf16>(ctx, Shape{1, 257, 257, 2, 64}, Layout::packed, {}, 501, -0.125f);
  check_attention<bf16>(ctx, Shape{1, 130, 130, 2, 128}, Layout::packed, {.key_mask = true}, 502, 0.0f);
  gpu::DeviceTensor<bf16, 4> x(Extents<4>{1, 8, 1, 64});
  const CView<bf16, 4> in = x.view();
  REQUIRE_THROWS_WITH(gpu::flash_attention<gpu::FlashAttention<64>>(ctx, x.view(), in, in, in, {.scale = -1.0f}),
                      Catch::Contains("cuda::flash_attention") && Catch::Contains("scale > 0"));
  REQUIRE_THROWS_WITH(gpu::flash_attention<gpu::FlashAttention<128>>(ctx, x.view(), in, in, in, {.scale = 0.125f}),
                      Catch::Contains("head dim 128"));
}

TEST_CASE("cuda attention rejects head dims above 256 and host memory", "[cuda][attention]") {
  Context<backend::cuda> ctx;
  gpu::DeviceTensor<bf16, 4> big(Extents<4>{1, 4, 1, 300});
  REQUIRE_THROWS_WITH(ops::attention(ctx, big.view(), big.view(), big.view(), big.view(), {}),
                      Catch::Contains("ops::attention") && Catch::Contains("head dim 300"));
  gpu::DeviceTensor<bf16, 4> q(Extents<4>{1, 4, 1, 64});
  Tensor<bf16, 4> host(Extents<4>{1, 4, 1, 64});
  REQUIRE_THROWS_WITH(ops::attention(ctx, q.view(), q.view(), host.view(), q.view(), {}),
                      Catch::Contains("k must point to device memory"));
}
