// Records what the hardware's TDPBF16PS computes, for the AMX emulator's check (test_gemm_amx) on
// machines without AMX. Each record is one instruction on full tiles (16 rows x 64 bytes):
//   A uint16[16][32] (bf16), B uint16[16][32] (bf16 pairs), C_in float[16][16], C_out float[16][16]
// with C_out = C_in + A·B as the CPU computed it, little-endian, 4096 bytes per record, records back
// to back. Record i draws its operands from one of four distributions (i mod 4):
//   0  test_gemm_amx's values (uniform in [-2, 2] with steps of 1e-4, ~6% bf16 denormals, ~5% zeros)
//   1  random sign, exponent 2^-12..2^12, random 7-bit mantissa (large cancellations, long carries)
//   2  as 1, but 7 of 8 operands zero (few products per element: the order of additions shows)
//   3  as 1
// C_in: random sign, exponent 2^-15..2^15, random mantissa (all zeros in every 8th record).
// The generator is seeded, so the first N records of any run are the same.
// Build and run on a CPU with AMX-BF16 (Linux 5.16+ grants the tile permission):
//   g++ -O1 -std=c++20 -mamx-tile -mamx-bf16 record_tdpbf16ps.cpp -o record_tdpbf16ps
//   ./record_tdpbf16ps tdpbf16ps.bin 40
// tests/golden/ops/amx/tdpbf16ps.bin: 40 records, from a run of 600 on the GPU machine's host (Intel
// Xeon, AMX-BF16; KVM guest), 2026-11-26.
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

namespace {

struct alignas(64) TileConfig {
  std::uint8_t palette = 1, start_row = 0, reserved[14] = {};
  std::uint16_t bytes_per_row[16] = {};
  std::uint8_t rows[16] = {};
};

struct Record {
  alignas(64) std::uint16_t a[16][32];
  alignas(64) std::uint16_t b[16][32];
  alignas(64) float c_in[16][16];
  alignas(64) float c_out[16][16];
};
static_assert(sizeof(Record) == 4096);

std::uint16_t bf16_of(float v) {  // round to nearest even (no NaNs here)
  std::uint32_t u = 0;
  std::memcpy(&u, &v, sizeof(u));
  return static_cast<std::uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

std::uint16_t random_operand(std::mt19937_64& rng, int distribution) {
  const std::uint64_t r = rng();
  if (distribution == 0) {
    const auto q = static_cast<std::uint32_t>(r >> 33);
    if (q % 17 == 0) {
      return static_cast<std::uint16_t>(0x0001u + (q >> 8) % 0x7Fu);  // a denormal
    }
    if (q % 19 == 0) {
      return 0;
    }
    return bf16_of(static_cast<float>(q % 40001) / 10000.0f - 2.0f);
  }
  if (distribution == 2 && (r & 7u) != 0) {
    return 0;
  }
  const auto sign = static_cast<std::uint16_t>((r >> 8) & 1u), mantissa = static_cast<std::uint16_t>((r >> 16) & 0x7Fu);
  const int exponent = 127 + static_cast<int>((r >> 24) % 25) - 12;
  return static_cast<std::uint16_t>(sign << 15 | exponent << 7 | mantissa);
}

float random_accumulator(std::mt19937_64& rng) {
  const std::uint64_t r = rng();
  const auto exponent = static_cast<std::uint32_t>(127 + static_cast<int>((r >> 24) % 31) - 15);
  const auto bits = static_cast<std::uint32_t>(((r >> 8) & 1u) << 31 | exponent << 23 | ((r >> 40) & 0x7FFFFFu));
  float v = 0;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s OUT.bin RECORDS\n", argv[0]);
    return 2;
  }
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) {
    std::fprintf(stderr, "record_tdpbf16ps: the OS grants no AMX tile data (no AMX, or Linux < 5.16)\n");
    return 1;
  }
  TileConfig config;
  for (int t = 0; t < 3; ++t) {
    config.bytes_per_row[t] = 64;
    config.rows[t] = 16;
  }
  _tile_loadconfig(&config);
  std::FILE* out = std::fopen(argv[1], "wb");
  if (out == nullptr) {
    std::fprintf(stderr, "record_tdpbf16ps: cannot write %s\n", argv[1]);
    return 1;
  }
  std::mt19937_64 rng(7);
  const int records = std::atoi(argv[2]);
  for (int i = 0; i < records; ++i) {
    static Record rec;
    const int distribution = i % 4;
    for (auto& row : rec.a) {
      for (auto& v : row) {
        v = random_operand(rng, distribution);
      }
    }
    for (auto& row : rec.b) {
      for (auto& v : row) {
        v = random_operand(rng, distribution);
      }
    }
    for (auto& row : rec.c_in) {
      for (auto& v : row) {
        v = random_accumulator(rng);
        if (distribution == 0 && i % 8 == 0) {
          v = 0.0f;
        }
      }
    }
    _tile_loadd(0, rec.c_in, 64);
    _tile_loadd(1, rec.a, 64);
    _tile_loadd(2, rec.b, 64);
    _tile_dpbf16ps(0, 1, 2);
    _tile_stored(0, rec.c_out, 64);
    std::fwrite(&rec, sizeof(rec), 1, out);
  }
  _tile_release();
  return std::fclose(out) == 0 ? 0 : 1;
}
