// The integer rules every layer shares, each defined once: the operators
// (ops/), the fast kernels (kernels/) and the planner (runtime/plan/) must
// agree on them bit for bit.
#pragma once

#include <cstdint>
#include <limits>

namespace cvm {

// Largest magnitude a signed value of `precision` bits holds: 2^(p-1) - 1
// (INT32_MAX from 32 bits on). Values of that precision lie in
// [-bound, bound]: inputs and parameters are checked or clamped there, and
// the deployed cvm_clip / shift kernels clip there, ignoring `is_sign`.
inline int32_t precision_bound(int precision) {
  if (precision >= 32) return std::numeric_limits<int32_t>::max();
  return static_cast<int32_t>((int64_t{1} << (precision - 1)) - 1);
}

// Arithmetic shift right by s in [0, 31], well defined for negative values.
inline int32_t arithmetic_shift_right(int32_t v, int s) {
  return v >= 0 ? (v >> s) : ~((~v) >> s);
}

// cvm_right_shift's rounding shift by s in [1, 31]:
// ((v >> (s - 1)) + 1) >> 1, the + 1 wrapping as the reference's int32 does.
inline int32_t rounding_shift_right(int32_t v, int s) {
  const int32_t t = arithmetic_shift_right(v, s - 1);
  return arithmetic_shift_right(static_cast<int32_t>(static_cast<uint32_t>(t) + 1u), 1);
}

// cvm_right_shift(precision, shift) by case, so that the operator and the
// fused chains split the same way:
//  kZero      precision 1: every value becomes 0;
//  kSignOnly  shift >= 31: v < 0 ? -1 : 0;
//  kRound     precision + shift >= 32: the rounding shift alone (it cannot
//             leave [-hi, hi]);
//  kSaturate  otherwise: v < x_lo gives -hi, v > x_hi gives hi, else the
//             rounding shift (x_lo, x_hi are where it would leave the range).
struct RightShiftRule {
  enum class Kind { kZero, kSignOnly, kRound, kSaturate };
  Kind kind = Kind::kZero;
  int32_t hi = 0;  // precision_bound(precision)
  int32_t x_lo = 0, x_hi = 0;
};

// For precision in [1, 32] and shift in [1, 32] (the operator's verified range).
inline RightShiftRule right_shift_rule(int precision, int shift) {
  RightShiftRule r;
  r.hi = precision_bound(precision);
  if (r.hi == 0) {
    r.kind = RightShiftRule::Kind::kZero;
  } else if (shift >= 31) {
    r.kind = RightShiftRule::Kind::kSignOnly;
  } else if (precision + shift >= 32) {
    r.kind = RightShiftRule::Kind::kRound;
  } else {
    // Here 2^(precision + shift - 1) < 2^31, so these bounds fit in int32.
    r.kind = RightShiftRule::Kind::kSaturate;
    const int64_t step = int64_t{1} << (shift - 1);
    r.x_lo = static_cast<int32_t>((-2 * int64_t{r.hi} - 1) * step);
    r.x_hi = static_cast<int32_t>((2 * int64_t{r.hi} - 1) * step);
  }
  return r;
}

}  // namespace cvm
