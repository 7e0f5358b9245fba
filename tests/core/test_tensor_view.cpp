// TensorView properties checked for every index, not a few hand-picked ones.
#include <catch2/catch.hpp>

#include <numeric>
#include <vector>

#include "internvl/core/tensor.hpp"

using namespace internvl;

TEST_CASE("row-major views address every element exactly once", "[view]") {
  Tensor<int, 3> t(Extents<3>{3, 4, 5});
  std::iota(t.data(), t.data() + t.numel(), 0);
  View<int, 3> v = t.view();
  REQUIRE(v.is_contiguous());
  REQUIRE(v.strides() == Extents<3>{20, 5, 1});
  int expected = 0;
  for (index_t i = 0; i < 3; ++i)
    for (index_t j = 0; j < 4; ++j)
      for (index_t k = 0; k < 5; ++k) REQUIRE(v(i, j, k) == expected++);
}

TEST_CASE("slice, select and transpose agree with direct indexing", "[view]") {
  Tensor<int, 3> t(Extents<3>{3, 4, 5});
  std::iota(t.data(), t.data() + t.numel(), 0);
  const View<int, 3> v = t.view();
  for (int dim = 0; dim < 3; ++dim) {
    for (index_t b = 0; b <= v.size(dim); ++b) {
      for (index_t e = b; e <= v.size(dim); ++e) {
        const View<int, 3> s = v.slice(dim, b, e);
        REQUIRE(s.size(dim) == e - b);
        for (index_t i = 0; i < s.size(0); ++i)
          for (index_t j = 0; j < s.size(1); ++j)
            for (index_t k = 0; k < s.size(2); ++k) {
              Extents<3> src{i, j, k};
              src[dim] += b;
              REQUIRE(s(i, j, k) == v(src[0], src[1], src[2]));
            }
      }
    }
  }
  const View<int, 3> tr = v.transpose(0, 2);
  REQUIRE_FALSE(tr.is_contiguous());
  for (index_t i = 0; i < 5; ++i)
    for (index_t j = 0; j < 4; ++j)
      for (index_t k = 0; k < 3; ++k) REQUIRE(tr(i, j, k) == v(k, j, i));
  for (index_t i = 0; i < 3; ++i) {
    const View<int, 2> row = v[i];
    for (index_t j = 0; j < 4; ++j)
      for (index_t k = 0; k < 5; ++k) REQUIRE(row(j, k) == v(i, j, k));
  }
}

TEST_CASE("reshape keeps row-major order and refuses what it cannot do", "[view]") {
  Tensor<float, 2> t(Extents<2>{6, 4});
  std::iota(t.data(), t.data() + t.numel(), 0.0f);
  const View<float, 3> r = t.view().reshape(Extents<3>{2, 3, 4});
  for (index_t i = 0; i < 2; ++i)
    for (index_t j = 0; j < 3; ++j)
      for (index_t k = 0; k < 4; ++k) REQUIRE(r(i, j, k) == static_cast<float>(i * 12 + j * 4 + k));
  REQUIRE_THROWS_WITH(t.view().reshape(Extents<2>{5, 5}), Catch::Contains("cannot reshape [6, 4]"));
  REQUIRE_THROWS_WITH(t.view().transpose(0, 1).reshape(Extents<1>{24}), Catch::Contains("not contiguous"));
  REQUIRE_THROWS_WITH(t.view().slice(0, 2, 7), Catch::Contains("outside a view of shape [6, 4]"));
}

TEST_CASE("views convert to read-only views and report dense rows", "[view]") {
  Tensor<float, 2> t(Extents<2>{3, 8}, 1.0f);
  CView<float, 2> c = t.view();
  REQUIRE(c.data() == t.data());
  REQUIRE(c.has_dense_rows());
  REQUIRE(t.view().slice(1, 2, 6).has_dense_rows());
  REQUIRE_FALSE(t.view().slice(1, 2, 6).is_contiguous());
  REQUIRE_FALSE(t.view().transpose(0, 1).has_dense_rows());
  REQUIRE(reinterpret_cast<std::uintptr_t>(t.data()) % kAlignment == 0);
}

namespace {

// The elements of a 3-D view in row-major order, read by direct indexing.
std::vector<int> elements_in_order(const View<int, 3>& v) {
  std::vector<int> out;
  for (index_t i = 0; i < v.size(0); ++i)
    for (index_t j = 0; j < v.size(1); ++j)
      for (index_t k = 0; k < v.size(2); ++k) out.push_back(v(i, j, k));
  return out;
}

}  // namespace

TEST_CASE("for_each_element visits every element of any view once, in row-major order", "[view]") {
  Tensor<int, 3> t(Extents<3>{3, 4, 5});
  std::iota(t.data(), t.data() + t.numel(), 0);
  const View<int, 3> v = t.view();
  std::vector<View<int, 3>> views;
  for (const View<int, 3>& base : {v, v.transpose(0, 2), v.transpose(1, 2)}) {
    for (int dim = 0; dim < 3; ++dim) {
      for (index_t b = 0; b <= base.size(dim); ++b) {
        for (index_t e = b; e <= base.size(dim); ++e) {  // empty, single-row and full slices
          views.push_back(base.slice(dim, b, e));
        }
      }
    }
  }
  for (const View<int, 3>& view : views) {
    INFO("shape " << shape_string(view) << " strides " << shape_string(view.strides()));
    std::vector<int> visited;
    for_each_element(view, [&](int& x) { visited.push_back(x); });
    REQUIRE(visited == elements_in_order(view));
  }
  // Rank 1 with a stride, and writes through the reference.
  for_each_element(v.transpose(0, 2)[0][0], [](int& x) { x = -x; });
  for (index_t i = 0; i < 3; ++i) REQUIRE(v(i, 0, 0) == -i * 20);
}
