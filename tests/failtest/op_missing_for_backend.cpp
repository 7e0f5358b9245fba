// Must not compile: a backend that has a Context but no rms_norm implementation. The diagnostic
// is the one sentence from ops/rms_norm.hpp naming the header to include.
#include "internvl/ops/rms_norm.hpp"

namespace my {
struct backend {};
}  // namespace my

template <>
class internvl::Context<my::backend> {};

int main() {
  internvl::Context<my::backend> ctx;
  float data[4] = {};
  internvl::View<float, 2> x(data, {1, 4});
  internvl::CView<float, 1> w(data, {4});
  internvl::ops::rms_norm(ctx, x, x, w, 1e-6f);
}
