// bf16 / f16 conversions against plain references, over all 65,536 bit patterns each.
// The references use double arithmetic only: decode by the definition of the format, and
// round float -> 16 bit by searching the nearest representable value (ties to even).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include "internvl/core/dtype.hpp"

using namespace internvl;

namespace {

// Value of a 16-bit float with `mantissa_bits` and an exponent bias, by the definition.
double decode(std::uint16_t bits, int exponent_bits, int mantissa_bits) {
  const int bias = (1 << (exponent_bits - 1)) - 1;
  const int e = (bits >> mantissa_bits) & ((1 << exponent_bits) - 1);
  const int m = bits & ((1 << mantissa_bits) - 1);
  const double sign = (bits & 0x8000) ? -1.0 : 1.0;
  if (e == (1 << exponent_bits) - 1) {
    return m ? std::numeric_limits<double>::quiet_NaN() : sign * std::numeric_limits<double>::infinity();
  }
  if (e == 0) {
    return sign * std::ldexp(m, 1 - bias - mantissa_bits);
  }
  return sign * std::ldexp((1 << mantissa_bits) + m, e - bias - mantissa_bits);
}

bool is_nan_bits(std::uint16_t bits, int mantissa_bits) {
  const std::uint16_t exp_mask = static_cast<std::uint16_t>(0x7FFF & ~((1 << mantissa_bits) - 1));
  return (bits & exp_mask) == exp_mask && (bits & ((1 << mantissa_bits) - 1)) != 0;
}

// Reference rounding: the representable value nearest to x (ties to the even bit pattern).
std::uint16_t round_reference(float x, int exponent_bits, int mantissa_bits) {
  const double v = x;
  std::uint16_t best = 0;
  // Candidates of the right sign, walked over the magnitude patterns (monotonic in value).
  const std::uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  const std::uint16_t inf_bits = static_cast<std::uint16_t>(((1 << exponent_bits) - 1) << mantissa_bits);
  const double max_finite = decode(static_cast<std::uint16_t>(inf_bits - 1), exponent_bits, mantissa_bits);
  const double ulp_top = std::ldexp(1.0, (1 << (exponent_bits - 1)) - 1 - mantissa_bits);
  if (std::fabs(v) >= max_finite + ulp_top / 2) {  // IEEE: overflow when rounding past the max
    return static_cast<std::uint16_t>(sign | inf_bits);
  }
  // Magnitudes are monotonic in their bit patterns: find the last one not above |v|.
  std::uint32_t lo = 0;
  std::uint32_t hi = inf_bits - 1u;
  while (lo < hi) {
    const std::uint32_t mid = (lo + hi + 1) / 2;
    if (decode(static_cast<std::uint16_t>(mid), exponent_bits, mantissa_bits) <= std::fabs(v)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  best = static_cast<std::uint16_t>(lo);
  if (lo + 1 < inf_bits) {
    const double below = std::fabs(v) - decode(static_cast<std::uint16_t>(lo), exponent_bits, mantissa_bits);
    const double above = decode(static_cast<std::uint16_t>(lo + 1), exponent_bits, mantissa_bits) - std::fabs(v);
    if (above < below || (above == below && ((lo + 1) & 1u) == 0)) {
      best = static_cast<std::uint16_t>(lo + 1);
    }
  }
  return static_cast<std::uint16_t>(sign | best);
}

}  // namespace

TEST_CASE("bf16 -> float is exact for all 65536 patterns", "[dtype]") {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    const float got = bf16::from_bits(bits);
    const double want = decode(bits, 8, 7);
    if (std::isnan(want)) {
      REQUIRE(std::isnan(got));
    } else {
      REQUIRE(static_cast<double>(got) == want);
      REQUIRE(std::signbit(got) == static_cast<bool>(bits & 0x8000));
    }
  }
}

TEST_CASE("f16 -> float is exact for all 65536 patterns", "[dtype]") {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    const float got = f16::from_bits(bits);
    const double want = decode(bits, 5, 10);
    if (std::isnan(want)) {
      REQUIRE(std::isnan(got));
    } else {
      REQUIRE(static_cast<double>(got) == want);
      REQUIRE(std::signbit(got) == static_cast<bool>(bits & 0x8000));
    }
  }
}

TEST_CASE("every 16-bit value round-trips through float", "[dtype]") {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    if (!is_nan_bits(bits, 7)) {
      REQUIRE(bf16(static_cast<float>(bf16::from_bits(bits))).bits == bits);
    }
    if (!is_nan_bits(bits, 10)) {
      REQUIRE(f16(static_cast<float>(f16::from_bits(bits))).bits == bits);
    }
  }
}

TEST_CASE("NaN stays NaN with its sign", "[dtype]") {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    if (is_nan_bits(bits, 7)) {
      const bf16 again(static_cast<float>(bf16::from_bits(bits)));
      REQUIRE(is_nan_bits(again.bits, 7));
      REQUIRE((again.bits & 0x8000) == (bits & 0x8000));
    }
    if (is_nan_bits(bits, 10)) {
      const f16 again(static_cast<float>(f16::from_bits(bits)));
      REQUIRE(is_nan_bits(again.bits, 10));
      REQUIRE((again.bits & 0x8000) == (bits & 0x8000));
    }
  }
  const float nan_with_low_payload = std::bit_cast<float>(0x7F800001u);  // payload only in low bits
  REQUIRE(is_nan_bits(bf16(nan_with_low_payload).bits, 7));
  REQUIRE(is_nan_bits(f16(nan_with_low_payload).bits, 10));
}

TEST_CASE("float -> 16 bit rounds to nearest, ties to even, at every midpoint", "[dtype]") {
  // For each pair of neighbouring finite values: the midpoint and its float neighbours on both sides.
  for (int format = 0; format < 2; ++format) {
    const int eb = format == 0 ? 8 : 5;
    const int mb = format == 0 ? 7 : 10;
    auto convert = [format](float x) { return format == 0 ? bf16(x).bits : f16(x).bits; };
    const auto inf_bits = static_cast<std::uint16_t>(((1 << eb) - 1) << mb);
    for (std::uint32_t mag = 0; mag < inf_bits; ++mag) {
      for (std::uint16_t sign : {std::uint16_t{0}, std::uint16_t{0x8000}}) {
        const double lo = decode(static_cast<std::uint16_t>(mag), eb, mb);
        const double hi = mag + 1 < inf_bits ? decode(static_cast<std::uint16_t>(mag + 1), eb, mb)
                                             : lo + (lo - decode(static_cast<std::uint16_t>(mag - 1), eb, mb));
        const float mid = static_cast<float>((lo + hi) / 2);
        if (static_cast<double>(mid) != (lo + hi) / 2) {
          continue;  // midpoint not representable in float (cannot happen for these formats)
        }
        const float s = sign ? -1.0f : 1.0f;
        for (float x : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, INFINITY), static_cast<float>(lo)}) {
          const float v = s * x;
          INFO("format " << (format == 0 ? "bf16" : "f16") << " value " << v);
          REQUIRE(convert(v) == round_reference(v, eb, mb));
        }
      }
    }
  }
}

TEST_CASE("infinities, overflow, zeros and f16 subnormals", "[dtype]") {
  REQUIRE(bf16(INFINITY).bits == 0x7F80);
  REQUIRE(bf16(-INFINITY).bits == 0xFF80);
  REQUIRE(f16(INFINITY).bits == 0x7C00);
  REQUIRE(f16(-INFINITY).bits == 0xFC00);
  REQUIRE(f16(65504.0f).bits == 0x7BFF);
  REQUIRE(f16(65519.99f).bits == 0x7BFF);
  REQUIRE(f16(65520.0f).bits == 0x7C00);
  REQUIRE(bf16(std::numeric_limits<float>::max()).bits == 0x7F80);  // rounds past the bf16 max
  REQUIRE(bf16(-0.0f).bits == 0x8000);
  REQUIRE(f16(-0.0f).bits == 0x8000);
  REQUIRE(f16(std::ldexp(1.0f, -24)).bits == 0x0001);          // smallest subnormal
  REQUIRE(f16(std::ldexp(1.0f, -25)).bits == 0x0000);          // exact tie rounds to even (zero)
  REQUIRE(f16(std::ldexp(1.5f, -25)).bits == 0x0001);
  REQUIRE(f16(std::ldexp(3.0f, -25)).bits == 0x0002);          // tie 1.5 ulp -> 2 (even)
  REQUIRE(f16(std::ldexp(1023.5f, -24)).bits == 0x0400);       // rounds up into the smallest normal
  REQUIRE(bf16(std::ldexp(1.0f, -133)).bits == 0x0001);        // bf16 subnormals come from f32 subnormals
}

TEST_CASE("float -> 16 bit agrees with the compiler's _Float16 on random floats", "[dtype]") {
#if defined(__FLT16_MAX__)
  std::uint32_t state = 12345;
  for (int i = 0; i < 2000000; ++i) {
    state = state * 1664525u + 1013904223u;
    const float x = std::bit_cast<float>(state);
    const _Float16 h = static_cast<_Float16>(x);
    std::uint16_t want = 0;
    std::memcpy(&want, &h, 2);
    if (std::isnan(x)) {
      REQUIRE(is_nan_bits(f16(x).bits, 10));
    } else {
      REQUIRE(f16(x).bits == want);
    }
  }
#else
  SUCCEED("compiler has no _Float16");
#endif
}

TEST_CASE("dtype names and sizes", "[dtype]") {
  REQUIRE(dtype_of<float>() == DType::f32);
  REQUIRE(dtype_of<const bf16>() == DType::bf16);
  REQUIRE(size_of(DType::f16) == 2);
  REQUIRE(name_of(DType::bf16) == "bf16");
  REQUIRE(visit_dtype(DType::f16, []<class T>(T) { return sizeof(T); }) == 2);
}
