// backend::reference, spread over the default thread pool: rows of a linear layer or an RMSNorm,
// (batch, head) pairs of an attention are independent, so each slice runs the reference on its own.
#include "oracle.hpp"

#include <algorithm>

#include "internvl/backend/reference/all.hpp"
#include "internvl/core/thread_pool.hpp"

namespace internvl::testing {

namespace {

// Splits [0, rows) into at most 8 slices (the reference linear widens the whole weight per call).
template <class Fn>
void for_row_slices(index_t rows, index_t max_slices, Fn&& fn) {
  ThreadPool& pool = default_thread_pool();
  const index_t slices = std::max<index_t>(1, std::min<index_t>({rows, max_slices, pool.size()}));
  pool.run(slices, [&](index_t s) { fn(rows * s / slices, rows * (s + 1) / slices); });
}

}  // namespace

Tensor<float, 2> reference_linear(CView<float, 2> x, CView<float, 2> w, CView<float, 1> bias, ops::Activation act) {
  Tensor<float, 2> y(Extents<2>{x.size(0), w.size(0)});
  for_row_slices(x.size(0), 8, [&](index_t begin, index_t end) {
    Context<backend::reference> ctx;
    ops::linear(ctx, y.view().slice(0, begin, end), x.slice(0, begin, end), w, bias, act);
  });
  return y;
}

Tensor<float, 2> reference_rms_norm(CView<float, 2> x, CView<float, 1> w, float eps) {
  Tensor<float, 2> y(x.shape());
  for_row_slices(x.size(0), 64, [&](index_t begin, index_t end) {
    Context<backend::reference> ctx;
    ops::rms_norm(ctx, y.view().slice(0, begin, end), x.slice(0, begin, end), w, eps);
  });
  return y;
}

Tensor<float, 4> reference_attention(CView<float, 4> q, CView<float, 4> k, CView<float, 4> v,
                                     const ops::AttentionOptions& options) {
  Tensor<float, 4> out(q.shape());
  const index_t batch = q.size(0), heads = q.size(2);
  default_thread_pool().run(batch * heads, [&](index_t i) {
    const index_t b = i / heads, h = i % heads;
    const auto one = [&](auto view) { return view.slice(0, b, b + 1).slice(2, h, h + 1); };
    ops::AttentionOptions slice_options = options;
    if (options.key_mask.data() != nullptr) {
      slice_options.key_mask = options.key_mask.slice(0, b, b + 1);
    }
    Context<backend::reference> ctx;
    ops::attention(ctx, one(out.view()), one(q), one(k), one(v), slice_options);
  });
  return out;
}

}  // namespace internvl::testing
