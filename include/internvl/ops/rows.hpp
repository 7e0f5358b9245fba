// as_rows: a view of any rank seen as the matrix of its rows, [product of leading extents, last
// extent]. Element-wise kernels only need dense rows, so they run on this 2-D form; it needs the
// leading dimensions to collapse into one (each stride equal to the next stride times the next
// extent), as in any row-major tensor or a slice of rows of one. Otherwise: internvl::Error.
#pragma once

#include "internvl/ops/checks.hpp"

namespace internvl::ops::detail {

template <class T, std::size_t Rank>
TensorView<T, 2> as_rows(std::string_view op, std::string_view name, const TensorView<T, Rank>& v) {
  check_dense_rows(op, name, v);
  const index_t width = v.size(Rank - 1);
  index_t rows = 1;
  index_t row_stride = width;
  for (std::size_t d = Rank - 1; d-- > 0;) {
    if (v.size(d) == 1) {
      continue;
    }
    if (rows == 1) {
      row_stride = v.stride(d);
    } else {
      INTERNVL_CHECK(v.size(d) == 0 || rows == 0 || v.stride(d) == row_stride * rows, op, name, " of shape ",
                     shape_string(v), " and strides ", shape_string(v.strides()),
                     " cannot be seen as rows: its leading dimensions do not collapse into one");
    }
    rows *= v.size(d);
  }
  return {v.data(), Extents<2>{rows, width}, Extents<2>{row_stride, 1}};
}

}  // namespace internvl::ops::detail
