// cpu token mean: each image's token range is cut into parts of about kTokensPerPart consecutive tokens
// (how many depends on the token count alone, so the result is the same on any number of threads).
// A work item (image, part) streams its token rows (contiguous reads), four at a time, into
// lane-wise compensated f32 sums of all D columns (backend/cpu/compensated_sum.hpp) kept in the
// workspace; then the parts of each image are merged, compensated too, and divided by end − begin.
// The error does not grow with the number of tokens.
#pragma once

#include <algorithm>

#include "internvl/backend/cpu/compensated_sum.hpp"
#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/simd.hpp"
#include "internvl/ops/mean_tokens.hpp"

namespace internvl::ops {

template <>
struct MeanTokens<backend::cpu> {
  static constexpr index_t kTokensPerPart = 64;
  static constexpr index_t kRowsPerSweep = 4;

  static void run(Context<backend::cpu>& ctx, View<float, 2> out, CView<float, 3> x, index_t begin, index_t end) {
    using cpu::VecF, cpu::kLanes;
    const index_t batch = x.size(0);
    const index_t width = x.size(2);
    const index_t padded = (width + kLanes - 1) / kLanes * kLanes;  // whole vectors of columns
    const index_t count = end - begin;
    const index_t parts = std::max<index_t>(1, count / kTokensPerPart);
    Workspace<>& ws = ctx.workspace();
    auto scope = ws.scope();
    // Per (image, part): the running sums and their lost parts, [batch · parts, 2, padded].
    View<float, 3> partial = ws.tensor<float>(Extents<3>{batch * parts, 2, padded});

    ctx.pool().parallel_for(batch * parts, 1, [&](index_t item_begin, index_t item_end) {
      for (index_t item = item_begin; item < item_end; ++item) {
        const index_t b = item / parts;
        const index_t part = item % parts;
        float* sum = &partial(item, 0, 0);
        float* lost = &partial(item, 1, 0);
        std::fill_n(sum, 2 * padded, 0.0f);  // sum and lost are adjacent
        // Four token rows per sweep over the columns: their plain sum (rounding errors of ~1 ulp
        // each, which do not accumulate) goes into the compensated sums, which thus make one round
        // trip through memory per four rows.
        const index_t first = begin + count * part / parts;
        const index_t last = begin + count * (part + 1) / parts;
        for (index_t s = first; s < last; s += kRowsPerSweep) {
          const index_t rows = std::min(kRowsPerSweep, last - s);
          const float* row = &x(b, s, 0);
          const index_t row_step = x.stride(1);
          const auto load = [&](index_t r, index_t j) {
            const float* p = row + r * row_step + j;
            return j + kLanes <= width ? cpu::load(p) : cpu::load_tail(p, width - j);
          };
          for (index_t j = 0; j < width; j += kLanes) {
            VecF rows_sum = load(0, j);
            for (index_t r = 1; r < rows; ++r) {
              rows_sum += load(r, j);
            }
            cpu::CompensatedSum lanes{cpu::load(sum + j), cpu::load(lost + j)};
            lanes.add(rows_sum);
            cpu::store(sum + j, lanes.sum);
            cpu::store(lost + j, lanes.lost);
          }
        }
      }
    });

    const VecF divisor(static_cast<float>(count));
    for (index_t b = 0; b < batch; ++b) {
      float* out_row = &out(b, 0);
      for (index_t j = 0; j < width; j += kLanes) {
        cpu::CompensatedSum total;
        for (index_t part = 0; part < parts; ++part) {
          total.merge({cpu::load(&partial(b * parts + part, 0, j)), cpu::load(&partial(b * parts + part, 1, j))});
        }
        const VecF mean = total.total() / divisor;
        if (j + kLanes <= width) {
          cpu::store(out_row + j, mean);
        } else {
          cpu::store_tail(out_row + j, mean, width - j);
        }
      }
    }
  }
};

}  // namespace internvl::ops
