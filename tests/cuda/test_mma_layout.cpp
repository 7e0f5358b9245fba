// The fragment index arithmetic of the tensor-core attention kernel, checked on the host: the PTX
// rules of ldmatrix and mma.m16n8k16 are simulated lane by lane (written out here from the PTX ISA,
// independently of backend/cuda/mma_layout.hpp), the kernel's own address functions drive them, and
// the products S = Q·Kᵀ and O = P·V a warp forms must equal the plain matrix products. Runs anywhere.
#include <catch2/catch.hpp>

#include <array>
#include <random>
#include <vector>

#include "internvl/backend/cuda/mma_layout.hpp"

namespace mma = internvl::cuda::mma;

namespace {

constexpr int kLanes = 32;

// A row-major matrix of small integers (every product and sum below is exact in double).
struct Matrix {
  int rows, cols;
  std::vector<double> values;
  Matrix(int r, int c) : rows(r), cols(c), values(static_cast<std::size_t>(r * c), 0.0) {}
  double& operator()(int r, int c) { return values[static_cast<std::size_t>(r * cols + c)]; }
  double operator()(int r, int c) const { return values[static_cast<std::size_t>(r * cols + c)]; }
};

Matrix random_matrix(int rows, int cols, std::mt19937& gen) {
  std::uniform_int_distribution<int> dist(-4, 4);
  Matrix m(rows, cols);
  for (double& v : m.values) {
    v = dist(gen);
  }
  return m;
}

using Register = std::array<double, 2>;             // a b32 register holding two b16 values (low, high)
using Fragment = std::array<std::array<Register, 4>, kLanes>;  // four registers per lane
using Accumulator = std::array<std::array<double, 4>, kLanes>;  // four f32 values per lane

// ldmatrix.x4 (PTX): lane l supplies the address of row l % 8 of matrix l / 8 (8 consecutive b16
// values from there). Without .trans lane l receives row l / 4, columns 2(l % 4) and 2(l % 4) + 1 of
// each matrix; with .trans it receives rows 2(l % 4) and 2(l % 4) + 1 of column l / 4.
Fragment ldmatrix_x4(const Matrix& shared, const std::array<mma::RowCol, kLanes>& address, bool trans) {
  Fragment out{};
  for (int lane = 0; lane < kLanes; ++lane) {
    for (int i = 0; i < 4; ++i) {
      for (int half = 0; half < 2; ++half) {
        const int row = trans ? 2 * (lane % 4) + half : lane / 4;
        const int col = trans ? lane / 4 : 2 * (lane % 4) + half;
        const mma::RowCol start = address[static_cast<std::size_t>(8 * i + row)];
        REQUIRE(start.col % 8 == 0);  // 16-byte aligned rows
        out[lane][i][half] = shared(start.row, start.col + col);
      }
    }
  }
  return out;
}

// mma.m16n8k16.row.col (PTX), with g = lane / 4 and t = lane % 4:
//   A (16 × 16): register 0 holds (g, 2t..2t+1), 1 holds (g+8, 2t..), 2 holds (g, 2t+8..), 3 holds (g+8, 2t+8..)
//   B (16 × 8):  register 0 holds rows 2t..2t+1 of column g, register 1 rows 2t+8..2t+9
//   C (16 × 8):  c0 = (g, 2t), c1 = (g, 2t+1), c2 = (g+8, 2t), c3 = (g+8, 2t+1)
void mma_m16n8k16(Accumulator& d, const std::array<std::array<Register, 4>, kLanes>& a,
                  const std::array<Register, kLanes>& b0, const std::array<Register, kLanes>& b1) {
  Matrix A(16, 16), B(16, 8);
  for (int lane = 0; lane < kLanes; ++lane) {
    const int g = lane / 4, t = lane % 4;
    for (int j = 0; j < 2; ++j) {
      A(g, 2 * t + j) = a[lane][0][j];
      A(g + 8, 2 * t + j) = a[lane][1][j];
      A(g, 2 * t + 8 + j) = a[lane][2][j];
      A(g + 8, 2 * t + 8 + j) = a[lane][3][j];
      B(2 * t + j, g) = b0[lane][j];
      B(2 * t + 8 + j, g) = b1[lane][j];
    }
  }
  for (int lane = 0; lane < kLanes; ++lane) {
    const int g = lane / 4, t = lane % 4;
    const int rows[4] = {g, g, g + 8, g + 8};
    const int cols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
    for (int e = 0; e < 4; ++e) {
      for (int kk = 0; kk < 16; ++kk) {
        d[lane][e] += A(rows[e], kk) * B(kk, cols[e]);
      }
    }
  }
}

std::array<Register, kLanes> register_of(const Fragment& f, int i) {
  std::array<Register, kLanes> out{};
  for (int lane = 0; lane < kLanes; ++lane) {
    out[lane] = f[lane][i];
  }
  return out;
}

template <class Fn>
std::array<mma::RowCol, kLanes> addresses(Fn&& fn) {
  std::array<mma::RowCol, kLanes> out{};
  for (int lane = 0; lane < kLanes; ++lane) {
    out[lane] = fn(lane);
  }
  return out;
}

}  // namespace

TEST_CASE("accumulator layout matches the PTX rule", "[cuda][mma]") {
  for (int lane = 0; lane < kLanes; ++lane) {
    const int g = lane / 4, t = lane % 4;
    const int rows[4] = {g, g, g + 8, g + 8};
    const int cols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
    for (int e = 0; e < 4; ++e) {
      CHECK(mma::accumulator(lane, e).row == rows[e]);
      CHECK(mma::accumulator(lane, e).col == cols[e]);
    }
  }
}

// One warp of the attention kernel: 16 queries, a tile of kKeys keys, head dim kDim; the same loops,
// the same address functions, the same register reuse as flash_attention.cuh.
TEST_CASE("a warp's S = Q Kᵀ and O = P V come out as the matrix products", "[cuda][mma]") {
  constexpr int kDim = 64, kKeys = 64;
  std::mt19937 gen(7);
  const Matrix q = random_matrix(16, kDim, gen);     // the warp's 16 rows of the Q tile
  const Matrix k = random_matrix(kKeys, kDim, gen);  // K tile: rows = keys
  const Matrix v = random_matrix(kKeys, kDim, gen);  // V tile: rows = keys

  std::vector<Fragment> q_frag;
  for (int kk = 0; kk < kDim / 16; ++kk) {
    q_frag.push_back(ldmatrix_x4(q, addresses([&](int lane) {
                                   const mma::RowCol a = mma::a_address(lane);
                                   return mma::RowCol{a.row, kk * 16 + a.col};
                                 }),
                                 false));
  }
  std::vector<Accumulator> score(kKeys / 8, Accumulator{});
  for (int kk = 0; kk < kDim / 16; ++kk) {
    for (int np = 0; np < kKeys / 16; ++np) {
      const Fragment frag = ldmatrix_x4(k, addresses([&](int lane) {
                                          const mma::RowCol b = mma::bt_address(lane);
                                          return mma::RowCol{np * 16 + b.row, kk * 16 + b.col};
                                        }),
                                        false);
      mma_m16n8k16(score[2 * np], q_frag[kk], register_of(frag, 0), register_of(frag, 1));
      mma_m16n8k16(score[2 * np + 1], q_frag[kk], register_of(frag, 2), register_of(frag, 3));
    }
  }
  Matrix s(16, kKeys);  // the expected product, and where each lane's values must sit
  for (int i = 0; i < 16; ++i) {
    for (int j = 0; j < kKeys; ++j) {
      for (int d = 0; d < kDim; ++d) {
        s(i, j) += q(i, d) * k(j, d);
      }
    }
  }
  for (int nt = 0; nt < kKeys / 8; ++nt) {
    for (int lane = 0; lane < kLanes; ++lane) {
      for (int e = 0; e < 4; ++e) {
        const mma::RowCol at = mma::accumulator(lane, e);
        REQUIRE(score[nt][lane][e] == s(at.row, nt * 8 + at.col));
      }
    }
  }

  // P = S (any values do), taken from the accumulators as A fragments, times V.
  std::vector<Accumulator> o(kDim / 8, Accumulator{});
  for (int kk = 0; kk < kKeys / 16; ++kk) {
    std::array<std::array<Register, 4>, kLanes> p_frag{};
    for (int lane = 0; lane < kLanes; ++lane) {
      for (int r = 0; r < 4; ++r) {
        const mma::AccumulatorPair from = mma::a_register_source(r);
        p_frag[lane][r] = {score[2 * kk + from.tile][lane][from.e], score[2 * kk + from.tile][lane][from.e + 1]};
      }
    }
    for (int dp = 0; dp < kDim / 16; ++dp) {
      const Fragment frag = ldmatrix_x4(v, addresses([&](int lane) {
                                          const mma::RowCol b = mma::b_trans_address(lane);
                                          return mma::RowCol{kk * 16 + b.row, dp * 16 + b.col};
                                        }),
                                        true);
      mma_m16n8k16(o[2 * dp], p_frag, register_of(frag, 0), register_of(frag, 1));
      mma_m16n8k16(o[2 * dp + 1], p_frag, register_of(frag, 2), register_of(frag, 3));
    }
  }
  for (int dt = 0; dt < kDim / 8; ++dt) {
    for (int lane = 0; lane < kLanes; ++lane) {
      for (int e = 0; e < 4; ++e) {
        const mma::RowCol at = mma::accumulator(lane, e);
        double expected = 0.0;
        for (int j = 0; j < kKeys; ++j) {
          expected += s(at.row, j) * v(j, dt * 8 + at.col);
        }
        REQUIRE(o[dt][lane][e] == expected);
      }
    }
  }
}
