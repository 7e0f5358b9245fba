// Where the values of a warp's tensor-core tiles live, as plain functions of the lane (0..31), for the
// bf16/f16 instruction mma.sync.m16n8k16 (f32 accumulators) and the shared-memory loader ldmatrix
// (PTX ISA: "Matrix fragments for mma.m16n8k16", "ldmatrix"). The attention kernel addresses its
// tiles with these, and a host test (tests/cuda/test_mma_layout.cpp) rebuilds the products from the
// PTX rules with them, so the index arithmetic is checked on any machine. Plain C++: no nvcc needed.
//   g = lane / 4 (the "group"), t = lane % 4 (the thread in the group)
#pragma once

#include "internvl/core/macros.hpp"

namespace internvl::cuda::mma {

struct RowCol {
  int row;
  int col;
};

// Accumulator tile C/D (16 × 8): element e ∈ [0, 4) of a lane is at row g + 8·(e / 2), column 2t + e % 2.
INTERNVL_HOST_DEVICE constexpr RowCol accumulator(int lane, int e) {
  return {lane / 4 + (e / 2) * 8, (lane % 4) * 2 + e % 2};
}

// ldmatrix .x4 loads four 8 × 8 matrices; lane l gives the address of row l % 8 of matrix l / 8, and
// register i of every lane receives a piece of matrix i. The functions below say which row and column
// (of a 16 × 16 tile stored row-major in shared memory) each lane points at.

// A operand (16 rows × 16 k, row-major): matrices (rows 0-7, k 0-7), (rows 8-15, k 0-7),
// (rows 0-7, k 8-15), (rows 8-15, k 8-15), which is the register order of the A fragment.
INTERNVL_HOST_DEVICE constexpr RowCol a_address(int lane) { return {lane % 8 + ((lane / 8) % 2) * 8, (lane / 16) * 8}; }

// B operand for two n8 tiles, taken from Bᵀ stored row-major (rows = n, columns = k; a K tile for
// S = Q·Kᵀ), loaded without .trans: matrices (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, k 0-7),
// (n 8-15, k 8-15). Registers 0 and 1 are the B fragment of n-tile 0, registers 2 and 3 of n-tile 1.
INTERNVL_HOST_DEVICE constexpr RowCol bt_address(int lane) { return {lane % 8 + (lane / 16) * 8, ((lane / 8) % 2) * 8}; }

// B operand for two n8 tiles, taken from B stored row-major (rows = k, columns = n; a V tile for
// O = P·V), loaded with .trans: matrices (k 0-7, n 0-7), (k 8-15, n 0-7), (k 0-7, n 8-15),
// (k 8-15, n 8-15). Registers 0 and 1 are the B fragment of n-tile 0, registers 2 and 3 of n-tile 1.
INTERNVL_HOST_DEVICE constexpr RowCol b_trans_address(int lane) { return a_address(lane); }

// Two accumulator tiles side by side (n 0-7 and 8-15) hold a 16 × 16 block whose lane-to-element map
// is exactly the A fragment's, so a softmax result P feeds the next mma without leaving registers:
// A register r ∈ [0, 4) packs elements e and e + 1 of accumulator tile `tile`.
struct AccumulatorPair {
  int tile;  // 0 or 1
  int e;     // 0 or 2
};
INTERNVL_HOST_DEVICE constexpr AccumulatorPair a_register_source(int r) { return {r / 2, (r % 2) * 2}; }

}  // namespace internvl::cuda::mma
