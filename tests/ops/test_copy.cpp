// copy: the reference and cpu backends move every element of a strided 4-D view (the values of a packed
// QKV projection into positions of a key/value cache [B, capacity, H, Dh]) exactly and touch nothing
// else; shapes that disagree and rows that are not dense are refused.
#include <catch2/catch.hpp>
#include <cmath>

#include "internvl/backend/cpu/copy.hpp"
#include "internvl/backend/reference/copy.hpp"
#include "testing.hpp"

using namespace internvl;

namespace {

template <class Backend>
void check_copy(index_t batch, index_t tokens, index_t heads, index_t head_dim) {
  INFO(Backend::name << " [" << batch << ", " << tokens << ", " << heads << ", " << head_dim << "]");
  Context<Backend> ctx;
  const auto packed = testing::random_tensor(Extents<5>{batch, tokens, 3, heads, head_dim}, 31 + tokens);
  const Extents<4> shape{batch, tokens, heads, head_dim};
  const Extents<4> strides{tokens * 3 * heads * head_dim, 3 * heads * head_dim, head_dim, 1};
  const CView<float, 4> v(packed.data() + 2 * heads * head_dim, shape, strides);
  const index_t capacity = tokens + 5, first = 2;
  Tensor<float, 4> cache(Extents<4>{batch, capacity, heads, head_dim});
  testing::poison(cache.view());
  ops::copy(ctx, cache.view().slice(1, first, first + tokens), v);
  for (index_t b = 0; b < batch; ++b) {
    for (index_t p = 0; p < capacity; ++p) {
      for (index_t h = 0; h < heads; ++h) {
        for (index_t i = 0; i < head_dim; ++i) {
          if (p >= first && p < first + tokens) {
            REQUIRE(cache(b, p, h, i) == v(b, p - first, h, i));
          } else {
            REQUIRE(std::isnan(cache(b, p, h, i)));
          }
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("copy moves a strided view exactly and nothing else", "[copy]") {
  for (const auto& [batch, tokens, heads, head_dim] :
       std::initializer_list<std::array<index_t, 4>>{{5, 1, 32, 128}, {2, 100, 2, 4}, {1, 3, 1, 1}, {3, 7, 3, 17}}) {
    check_copy<backend::reference>(batch, tokens, heads, head_dim);
    check_copy<backend::cpu>(batch, tokens, heads, head_dim);
  }
}

TEST_CASE("copy refuses shapes that disagree and rows that are not dense", "[copy]") {
  Context<backend::cpu> ctx;
  Tensor<float, 4> a(Extents<4>{1, 2, 3, 4});
  Tensor<float, 4> b(Extents<4>{1, 2, 3, 5});
  CHECK_THROWS_WITH(ops::copy(ctx, a.view(), b.view()), Catch::Contains("ops::copy"));  // a mutable source too
  const CView<float, 4> strided(b.data(), Extents<4>{1, 2, 3, 2}, Extents<4>{30, 15, 5, 2});
  Tensor<float, 4> c(Extents<4>{1, 2, 3, 2});
  CHECK_THROWS_WITH(ops::copy(ctx, c.view(), strided), Catch::Contains("ops::copy"));
}
