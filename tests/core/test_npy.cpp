// .npy reading against files numpy wrote (tests/golden/npy/make.py), round trips, broken files.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include "internvl/io/npy.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {
std::string fixture(const std::string& name) { return testing::golden_path("npy/" + name); }
}  // namespace

TEST_CASE("reads arrays numpy wrote", "[npy]") {
  const Tensor<float, 2> a = io::read_npy_f32<2>(fixture("f32_2x3.npy"));
  REQUIRE(a.shape() == Extents<2>{2, 3});
  for (index_t i = 0; i < 6; ++i) REQUIRE(a.data()[i] == static_cast<float>(i) / 4);

  const Tensor<float, 1> d = io::read_npy_f32<1>(fixture("f64_4.npy"));
  REQUIRE(d(1) == -2.25f);
  REQUIRE(d(2) == 1e-3f);
  const Tensor<float, 1> h = io::read_npy_f32<1>(fixture("f16_3.npy"));
  REQUIRE(h(0) == 0.5f);
  REQUIRE(h(1) == -65504.0f);
  REQUIRE(h(2) == static_cast<float>(f16(6e-8f)));
  const io::NpyArray i = io::read_npy(fixture("i64_5.npy"));
  REQUIRE(i.descr == "<i8");
  REQUIRE(io::npy_element(i, 4) == 123456789012.0);
  REQUIRE(io::read_npy_f32<3>(fixture("f32_scalar_shape_1x1x1.npy"))(0, 0, 0) == 42.0f);
  REQUIRE(io::read_npy_f32<4>(fixture("f32_rank4.npy")).shape() == Extents<4>{2, 3, 4, 5});
  REQUIRE(io::read_npy_f32<3>(fixture("f32_empty_0x1x1.npy")).shape() == Extents<3>{0, 1, 1});
  const io::NpyArray scalar = io::read_npy(fixture("f32_scalar.npy"));
  REQUIRE(scalar.shape.empty());
  REQUIRE(io::npy_element(scalar, 0) == 2.5);
  REQUIRE(io::read_npy_f32<2>(fixture("f32_version2.npy"))(1, 0) == 3.0f);
}

TEST_CASE("round trip through write_npy, strided views included", "[npy]") {
  const Tensor<float, 3> t = testing::random_tensor(Extents<3>{3, 5, 7}, 1);
  const auto dir = std::filesystem::temp_directory_path();
  const std::string path = (dir / "internvl_test_roundtrip.npy").string();
  io::write_npy(path, t.view());
  const Tensor<float, 3> back = io::read_npy_f32<3>(path);
  REQUIRE(testing::relative_l2(back.view(), t.view()) == 0.0);

  const CView<float, 3> strided = t.view().transpose(0, 2).slice(1, 1, 4);
  io::write_npy(path, strided);
  const Tensor<float, 3> back2 = io::read_npy_f32<3>(path);
  REQUIRE(back2.shape() == strided.shape());
  REQUIRE(testing::relative_l2(back2.view(), strided) == 0.0);
  std::filesystem::remove(path);
}

TEST_CASE("a write that fails is an error naming the file, even for a small array", "[npy]") {
  const Tensor<float, 1> small = testing::random_tensor(Extents<1>{4}, 2);
  if (std::filesystem::exists("/dev/full")) {  // a device that refuses every write (ENOSPC)
    REQUIRE_THROWS_WITH(io::write_npy("/dev/full", small.view()),
                        Catch::Contains("/dev/full") && Catch::Contains("writing the file failed"));
  }
  const std::string missing_dir = (std::filesystem::temp_directory_path() / "internvl_no_such_dir/x.npy").string();
  REQUIRE_THROWS_WITH(io::write_npy(missing_dir, small.view()), Catch::Contains("cannot create the file"));
}

TEST_CASE("broken or unsupported files are errors that name the file", "[npy]") {
  REQUIRE_THROWS_WITH(io::read_npy(fixture("bad_fortran.npy")), Catch::Contains("bad_fortran.npy") && Catch::Contains("Fortran"));
  REQUIRE_THROWS_WITH(io::read_npy(fixture("bad_dtype_complex.npy")), Catch::Contains("unsupported .npy dtype '<c8'"));
  REQUIRE_THROWS_WITH(io::read_npy(fixture("bad_truncated_data.npy")), Catch::Contains("truncated .npy data"));
  REQUIRE_THROWS_WITH(io::read_npy(fixture("bad_truncated_header.npy")), Catch::Contains("truncated .npy header"));
  REQUIRE_THROWS_WITH(io::read_npy(fixture("bad_magic.npy")), Catch::Contains("bad magic"));
  REQUIRE_THROWS_WITH(io::read_npy(fixture("bad_empty.npy")), Catch::Contains("bad magic"));
  REQUIRE_THROWS_WITH(io::read_npy(fixture("does_not_exist.npy")), Catch::Contains("cannot open"));
  // Headers claiming more data than the file holds, or more elements than an index can count, fail
  // before anything is allocated.
  REQUIRE_THROWS_WITH(io::read_npy(fixture("bad_shape_overflow.npy")),
                      Catch::Contains("bad_shape_overflow.npy") && Catch::Contains("too many elements"));
  REQUIRE_THROWS_WITH(io::read_npy(fixture("bad_shape_empty_overflow.npy")), Catch::Contains("too many elements"));
  REQUIRE_THROWS_WITH(io::read_npy(fixture("bad_shape_huge.npy")),
                      Catch::Contains("bad_shape_huge.npy") && Catch::Contains("truncated .npy data"));
  REQUIRE_THROWS_WITH(io::read_npy(fixture("bad_scalar_no_data.npy")), Catch::Contains("truncated .npy data"));
  REQUIRE_THROWS_WITH(io::read_npy(testing::golden_path("npy")), Catch::Contains("not a regular file"));
  REQUIRE_THROWS_WITH(io::read_npy_f32<3>(fixture("f32_2x3.npy")), Catch::Contains("expected a rank-3 array, got rank 2"));
}
