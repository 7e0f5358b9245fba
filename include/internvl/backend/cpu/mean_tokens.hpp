// cpu token mean: the D columns are cut into blocks of kColumns; a work item is (image, column
// block), spread over the thread pool. It adds the block's slice of every token row in the range
// (one contiguous read per row) into compensated f32 sums kept in L1 (backend/cpu/compensated_sum.hpp),
// so that the error does not grow with the number of tokens; then out = (sum + lost) / (end − begin).
#pragma once

#include <algorithm>

#include "internvl/backend/cpu/compensated_sum.hpp"
#include "internvl/backend/cpu/context.hpp"
#include "internvl/backend/cpu/map_rows.hpp"
#include "internvl/ops/mean_tokens.hpp"

namespace internvl::ops {

template <>
struct MeanTokens<backend::cpu> {
  static constexpr index_t kColumns = 256;  // a multiple of the vector width
  static_assert(kColumns % cpu::kLanes == 0);

  static void run(Context<backend::cpu>& ctx, View<float, 2> out, CView<float, 3> x, index_t begin, index_t end) {
    using cpu::VecF;
    const index_t width = x.size(2);
    const index_t blocks = (width + kColumns - 1) / kColumns;
    const VecF count(static_cast<float>(end - begin));
    ctx.pool().parallel_for(x.size(0) * blocks, 1, [&](index_t item_begin, index_t item_end) {
      alignas(kAlignment) float sum[kColumns];
      alignas(kAlignment) float lost[kColumns];
      // Adds v to the lanes [j, j + kLanes) of the compensated sums.
      const auto accumulate = [&](const VecF& v, index_t j) {
        cpu::CompensatedSum lanes{cpu::load(sum + j), cpu::load(lost + j)};
        lanes.add(v);
        cpu::store(sum + j, lanes.sum);
        cpu::store(lost + j, lanes.lost);
      };
      for (index_t item = item_begin; item < item_end; ++item) {
        const index_t b = item / blocks;
        const index_t first = item % blocks * kColumns;
        const index_t columns = std::min(kColumns, width - first);
        std::fill_n(sum, kColumns, 0.0f);
        std::fill_n(lost, kColumns, 0.0f);
        for (index_t s = begin; s < end; ++s) {
          const float* row = x.data() + b * x.stride(0) + s * x.stride(1) + first;
          index_t j = 0;
          for (; j + cpu::kLanes <= columns; j += cpu::kLanes) {
            accumulate(cpu::load(row + j), j);
          }
          if (j < columns) {
            accumulate(cpu::load_tail(row + j, columns - j), j);
          }
        }
        cpu::map_span(
            out.data() + b * out.stride(0) + first, columns,
            [&](const VecF& total, const VecF& error) { return (total + error) / count; }, sum, lost);
      }
    });
  }
};

}  // namespace internvl::ops
