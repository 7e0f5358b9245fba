// The four heads on random features against PyTorch modules (tests/golden/heads/make.py), on the
// reference and cpu backends; head-file descriptions and loader errors; top-k; argmax; window geometry.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "internvl/backend/cpu/all.hpp"
#include "internvl/backend/reference/all.hpp"
#include "internvl/heads/classification_head.hpp"
#include "internvl/heads/segmenter.hpp"
#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

std::string golden(const std::string& name) { return testing::golden_path("heads/" + name); }

template <std::size_t R>
Tensor<float, R> npy(const std::string& name) {
  return io::read_npy_f32<R>(golden(name + ".npy"));
}

// A head file's weights, read by read_fn(HeadReader&), with the store and the mapping they live in.
template <class Backend, class Read>
auto load_head(const std::string& name, Read&& read_fn) {
  auto file = std::make_shared<heads::HeadFile>(golden(name));
  auto store = std::make_shared<models::WeightStore<Backend>>();
  heads::HeadReader<Backend> r(*file, *store);
  auto weights = read_fn(r);
  file->refuse_unexpected();
  return std::tuple{std::move(weights), store, file};
}

template <class Backend>
void check_probes() {
  Context<Backend> ctx;
  {
    auto [w, store, file] =
        load_head<Backend>("linear_probe.safetensors", [](auto& r) { return heads::read_linear_probe(r, 24); });
    const auto tokens = npy<3>("linear_probe_tokens");
    const auto expected = npy<2>("linear_probe_logits");
    Tensor<float, 2> logits(expected.shape());
    testing::poison(logits.view());
    heads::linear_probe(ctx, w, logits.view(), tokens.view());
    CHECK(testing::relative_l2(logits.view(), expected.view()) <= 1e-5);
  }
  {
    auto [w, store, file] = load_head<Backend>("attention_pool_probe.safetensors",
                                               [](auto& r) { return heads::read_attention_pool_probe(r, 24); });
    const auto tokens = npy<3>("attention_pool_probe_tokens");
    const auto expected = npy<2>("attention_pool_probe_logits");
    Tensor<float, 2> logits(expected.shape());
    testing::poison(logits.view());
    heads::attention_pool_probe(ctx, w, logits.view(), tokens.view());
    CHECK(testing::relative_l2(logits.view(), expected.view()) <= 1e-5);
  }
}

template <class Backend>
void check_segmentation_heads() {
  Context<Backend> ctx;
  {
    auto [w, store, file] =
        load_head<Backend>("seg_linear.safetensors", [](auto& r) { return heads::read_seg_linear(r, 24); });
    const auto tokens = npy<3>("seg_linear_tokens");
    const auto expected = npy<4>("seg_linear_logits");
    Tensor<float, 4> logits(expected.shape());
    testing::poison(logits.view());
    heads::seg_linear(ctx, w, logits.view(), tokens.view(), 3, 4);
    CHECK(testing::relative_l2(logits.view(), expected.view()) <= 1e-5);
  }
  {
    auto [w, store, file] =
        load_head<Backend>("seg_upernet.safetensors", [](auto& r) { return heads::read_upernet(r, 24); });
    const auto expected = npy<4>("seg_upernet_logits");
    Tensor<float, 4> logits(expected.shape());
    testing::poison(logits.view());
    auto scope = ctx.workspace().scope();
    auto laterals = heads::allocate_laterals<Backend, float>(ctx, w, 2, 6, 5);
    for (int level = 0; level < 4; ++level) {
      testing::poison(laterals.maps[level]);
    }
    for (int level : {2, 0, 3, 1}) {  // any order: each level only writes its own lateral
      const auto tokens = npy<3>("seg_upernet_tokens" + std::to_string(level));
      heads::upernet_lateral(ctx, w, level, laterals, heads::token_grid(tokens.view(), 6, 5));
    }
    heads::upernet_decode(ctx, w, laterals, logits.view());
    CHECK(testing::relative_l2(logits.view(), expected.view()) <= 1e-5);
  }
}

}  // namespace

TEST_CASE("linear and attention-pooling probes match PyTorch", "[heads]") {
  check_probes<backend::reference>();
  check_probes<backend::cpu>();
}

TEST_CASE("linear and UperNet segmentation heads match PyTorch", "[heads]") {
  check_segmentation_heads<backend::reference>();
  check_segmentation_heads<backend::cpu>();
}

TEST_CASE("head descriptions: fields, defaults and errors", "[heads]") {
  const auto parse = [](const char* text) { return heads::parse_head_description(nlohmann::json::parse(text), "f"); };
  const auto probe = parse(R"({"type": "linear_probe", "num_classes": 3, "bn_eps": 1e-6})");
  REQUIRE(probe.type == heads::HeadType::linear_probe);
  REQUIRE(probe.layers.empty());  // the last block
  REQUIRE(probe.labels.empty());
  const auto uper = parse(R"({"type": "seg_upernet", "num_classes": 2, "bn_eps": 1e-5, "ln_eps": 1e-6,
      "layers": [11, 23, 35, 47], "channels": 1536, "pool_scales": [1, 2, 3, 6], "crop_size": 504, "stride": 322,
      "labels": ["wall", "sky"], "palette": [[120, 120, 120], [6, 230, 230]]})");
  REQUIRE(uper.layers == std::vector<int>{11, 23, 35, 47});
  REQUIRE(uper.pool_scales == std::vector<index_t>{1, 2, 3, 6});
  REQUIRE(uper.palette[1] == heads::Rgb{6, 230, 230});
  REQUIRE(uper.labels[0] == "wall");
  REQUIRE(uper.crop_size == 504);
  REQUIRE(uper.stride == 322);

  REQUIRE_THROWS_WITH(parse(R"({"type": "svm", "num_classes": 3, "bn_eps": 1e-6})"),
                      Catch::Contains("f: \"internvl_head\"") && Catch::Contains("field 'type' is \"svm\""));
  REQUIRE_THROWS_WITH(parse(R"({"type": "linear_probe", "num_classes": 3})"), Catch::Contains("'bn_eps' is missing"));
  REQUIRE_THROWS_WITH(parse(R"({"type": "linear_probe", "num_classes": 0, "bn_eps": 1e-6})"),
                      Catch::Contains("'num_classes' must be a positive integer"));
  REQUIRE_THROWS_WITH(parse(R"({"type": "linear_probe", "num_classes": 3, "bn_eps": 1e-6, "labels": ["a"]})"),
                      Catch::Contains("'labels' has 1 names for 3 classes"));
  for (const char* bad : {R"(["a", "", "c"])", R"(["a", "b\nc", "d"])", R"(["a", 2, "c"])"}) {
    REQUIRE_THROWS_WITH(
        parse((std::string(R"({"type": "linear_probe", "num_classes": 3, "bn_eps": 1e-6, "labels": )") + bad + "}")
                  .c_str()),
        Catch::Contains("field 'labels' must hold non-empty strings of one line"));
  }
  REQUIRE_THROWS_WITH(parse(R"({"type": "seg_linear", "num_classes": 3, "bn_eps": 1e-5, "crop_size": 504,
      "stride": 322})"),
                      Catch::Contains("field 'layer' is missing"));
  REQUIRE_THROWS_WITH(parse(R"({"type": "seg_linear", "num_classes": 1, "bn_eps": 1e-5, "layer": 4, "crop_size": 504,
      "stride": 322, "palette": [[1, 2, 300]]})"),
                      Catch::Contains("[r, g, b] triples of 0..255, got [1,2,300]"));
  REQUIRE_THROWS_WITH(parse(R"({"type": "seg_upernet", "num_classes": 1, "bn_eps": 1e-5, "ln_eps": 1e-6,
      "layers": [1, 2], "channels": 8, "pool_scales": [1], "crop_size": 504, "stride": 322})"),
                      Catch::Contains("'layers' must name 4 blocks"));
  REQUIRE_THROWS_WITH(
      parse(R"({"type": "seg_linear", "num_classes": 1, "bn_eps": 1e-5, "layer": 4, "crop_size": 28,
      "stride": 42})"),
      Catch::Contains("f: \"internvl_head\"") && Catch::Contains("field 'stride' (42) exceeds 'crop_size' (28)"));
  REQUIRE_THROWS_WITH(parse(R"({"type": "linear_probe", "num_classes": 3, "bn_eps": 1e-6, "channels": 4})"),
                      Catch::Contains("unknown field 'channels'"));
  REQUIRE_THROWS_WITH(parse(R"({"type": "attention_pool_probe", "num_classes": 3, "bn_eps": 1e-6, "ln_eps": 1e-5})"),
                      Catch::Contains("'num_heads' is missing"));
}

TEST_CASE("head files: loading errors name the file and the tensor", "[heads]") {
  const auto load = [](const std::string& file, index_t width = 4) {
    models::WeightStore<backend::cpu> store;
    const heads::HeadFile f(golden(file));
    heads::HeadReader<backend::cpu> r(f, store);
    heads::read_linear_probe(r, width);
    f.refuse_unexpected();
  };
  REQUIRE_THROWS_WITH(load("absent.safetensors"), Catch::Contains("absent.safetensors: no such head file"));
  REQUIRE_THROWS_WITH(load("bad"), Catch::Contains("bad: not a regular file"));
  REQUIRE_THROWS_WITH(
      load("bad/no_description.safetensors"),
      Catch::Contains("no_description.safetensors: not a head file") && Catch::Contains("scripts/convert_heads.py"));
  REQUIRE_THROWS_WITH(load("bad/broken_json.safetensors"), Catch::Contains("broken_json.safetensors"));
  REQUIRE_THROWS_WITH(load("bad/unknown_field.safetensors"),
                      Catch::Contains("unknown_field.safetensors: \"internvl_head\": unknown field 'bn_epsilon'"));
  REQUIRE_THROWS_WITH(
      load("bad/missing_tensor.safetensors"),
      Catch::Contains("missing_tensor.safetensors: no tensor 'head.bias', which a linear_probe head needs"));
  REQUIRE_THROWS_WITH(load("bad/extra_tensor.safetensors"),
                      Catch::Contains("extra_tensor.safetensors: unexpected tensor 'decode_head.conv_seg.bias'"));
  REQUIRE_THROWS_WITH(load("bad/int_weight.safetensors"),
                      Catch::Contains("int_weight.safetensors: tensor 'head.weight' is I32"));
  REQUIRE_THROWS_WITH(load("bad/negative_variance.safetensors"),
                      Catch::Contains("negative_variance.safetensors: tensor 'norm.running_var' holds -") &&
                          Catch::Contains(" at [2]: a variance must be a number of at least 0"));
  REQUIRE_THROWS_WITH(
      load("linear_probe.safetensors", 32),
      Catch::Contains("linear_probe.safetensors: tensor 'norm.running_mean' has shape [48], expected [64]"));
  REQUIRE_THROWS_WITH(load("seg_linear.safetensors", 24), Catch::Contains("no tensor 'norm.running_mean'"));
}

TEST_CASE("top-k: most probable first, ties by index, NaN first, k clamped", "[heads]") {
  Tensor<float, 1> p(Extents<1>{5});
  const float values[] = {0.1f, 0.3f, 0.1f, 0.4f, 0.1f};
  std::copy(values, values + 5, p.data());
  const auto best = heads::top_k(p.view(), 3);
  REQUIRE(best.size() == 3);
  REQUIRE(best[0] == std::pair<index_t, float>{3, 0.4f});
  REQUIRE(best[1] == std::pair<index_t, float>{1, 0.3f});
  REQUIRE(best[2] == std::pair<index_t, float>{0, 0.1f});
  REQUIRE(heads::top_k(p.view(), 9).size() == 5);
  REQUIRE(heads::top_k(p.view(), 0).empty());
  p.data()[2] = std::nanf("");  // ranks first, as in torch.topk
  const auto with_nan = heads::top_k(p.view(), 5);
  REQUIRE(with_nan[0].first == 2);
  REQUIRE(std::isnan(with_nan[0].second));
  REQUIRE(with_nan[1] == std::pair<index_t, float>{3, 0.4f});
  REQUIRE(with_nan[4] == std::pair<index_t, float>{4, 0.1f});
  // Several NaNs keep their index order, as torch.sort(p, descending=True, stable=True) gives for
  // [0.1, NaN, 0.3, NaN]: indices 1, 3, 2, 0.
  Tensor<float, 1> q(Extents<1>{4});
  const float more[] = {0.1f, std::nanf(""), 0.3f, std::nanf("")};
  std::copy(more, more + 4, q.data());
  const auto nans = heads::top_k(q.view(), 4);
  REQUIRE((nans[0].first == 1 && nans[1].first == 3 && nans[2].first == 2 && nans[3].first == 0));
}

TEST_CASE("argmax over classes: first maximum on ties, NaN wins as in torch.argmax", "[heads]") {
  Tensor<float, 3> logits(Extents<3>{3, 1, 5}, 0.0f);
  logits(1, 0, 0) = 2.0f;                                     // plain maximum
  logits(0, 0, 1) = 1.0f, logits(2, 0, 1) = 1.0f;             // tie: the first
  logits(1, 0, 2) = std::numeric_limits<float>::quiet_NaN();  // NaN
  logits(2, 0, 2) = 5.0f;
  logits(0, 0, 3) = -1.0f, logits(1, 0, 3) = -2.0f, logits(2, 0, 3) = -0.5f;
  logits(0, 0, 4) = 1.0f;  // two NaNs: the first, as torch.argmax([1, nan, nan]) = 1
  logits(1, 0, 4) = std::numeric_limits<float>::quiet_NaN(), logits(2, 0, 4) = std::numeric_limits<float>::quiet_NaN();
  const auto classes = heads::argmax_classes(logits.view());
  REQUIRE(classes(0, 0) == 1);
  REQUIRE(classes(0, 1) == 0);
  REQUIRE(classes(0, 2) == 1);
  REQUIRE(classes(0, 3) == 2);
  REQUIRE(classes(0, 4) == 1);
}

TEST_CASE("sliding windows: mmseg's grid, flush with the border, small images in one window", "[heads]") {
  const auto expected = npy<2>("slide_windows");  // 45x60, crop 28, stride 14
  const auto windows = heads::sliding_windows(45, 60, 28, 14);
  REQUIRE(static_cast<index_t>(windows.size()) == expected.size(0));
  for (std::size_t i = 0; i < windows.size(); ++i) {
    const auto n = static_cast<index_t>(i);
    REQUIRE(windows[i] == heads::Window{static_cast<index_t>(expected(n, 0)), static_cast<index_t>(expected(n, 1)),
                                        static_cast<index_t>(expected(n, 2)), static_cast<index_t>(expected(n, 3))});
  }
  // The official setting on a 504x672 input: one row, two columns (0 and 168).
  REQUIRE(heads::sliding_windows(504, 672, 504, 322) ==
          std::vector<heads::Window>{{0, 0, 504, 504}, {0, 168, 504, 504}});
  REQUIRE(heads::sliding_windows(20, 30, 504, 322) == std::vector<heads::Window>{{0, 0, 20, 30}});
  REQUIRE_THROWS_WITH(heads::sliding_windows(20, 30, 504, 0), Catch::Contains("must all be positive"));
  REQUIRE(heads::sliding_windows(28, 98, 28, 28).size() == 4);  // stride = crop: windows edge to edge
  REQUIRE_THROWS_WITH(heads::sliding_windows(28, 98, 28, 42), Catch::Contains("stride 42 exceeds crop 28"));
}
