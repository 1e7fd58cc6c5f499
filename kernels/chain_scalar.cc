// The scalar form of a fused element-wise chain: the same arithmetic as the
// operators' run() (relu, clip, cvm_clip, cvm_right_shift, elemwise and
// broadcast add/sub/mul/max), in uint32 where it wraps.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "base/int_math.h"
#include "kernels/kernel_table.h"
#include "kernels/isa.h"

namespace cvm {
namespace kernels {
namespace {

int32_t apply(const Stage& st, int32_t x, int32_t operand) {
  switch (st.op) {
    case StageOp::kClamp:
      return x < st.lo ? st.lo : (x > st.hi ? st.hi : x);
    case StageOp::kZero:
      return 0;
    case StageOp::kShift31:
      return x < 0 ? -1 : 0;
    case StageOp::kShiftRound:
    case StageOp::kShiftSat: {
      if (st.op == StageOp::kShiftSat) {
        if (x < st.x_lo) return -st.hi;
        if (x > st.x_hi) return st.hi;
      }
      return rounding_shift_right(x, st.shift);
    }
    case StageOp::kBinary: {
      const uint32_t a = static_cast<uint32_t>(x), b = static_cast<uint32_t>(operand);
      switch (st.bin) {
        case BinOp::kAdd: return static_cast<int32_t>(a + b);
        case BinOp::kSub: return static_cast<int32_t>(a - b);
        case BinOp::kRSub: return static_cast<int32_t>(b - a);
        case BinOp::kMul: return static_cast<int32_t>(a * b);
        case BinOp::kMax: return x > operand ? x : operand;
      }
    }
  }
  return x;
}

// The chain as simple operations, when it is made of them.
struct Simple {
  enum Kind { kRs, kClamp, kAddSame, kMulChannel } kind;
  int32_t a = 0, b = 0;
  const int32_t* operand = nullptr;
  int64_t stride = 0;  // kMulChannel: channel c's value is operand[c * stride]
};

bool simplify(const Chain& ch, std::vector<Simple>* out) {
  for (int i = 0; i < ch.num_stages; ++i) {
    const Stage& st = ch.stages[i];
    if (i + 1 < ch.num_stages && st.write) return false;
    switch (st.op) {
      case StageOp::kClamp:
        out->push_back({Simple::kClamp, st.lo, st.hi});
        break;
      case StageOp::kShiftRound:
        if (st.shift < 2) return false;
        out->push_back({Simple::kRs, st.shift, 0});
        break;
      case StageOp::kShiftSat:
        // Beyond [x_lo, x_hi] the exact rounding is beyond [-hi, hi]: the
        // clamp gives the saturated value.
        out->push_back({Simple::kRs, st.shift, 0});
        out->push_back({Simple::kClamp, -st.hi, st.hi});
        break;
      case StageOp::kBinary:
        if (st.bin == BinOp::kAdd && st.mode == OperandMode::kSame) {
          out->push_back({Simple::kAddSame, 0, 0, st.operand});
        } else if (st.bin == BinOp::kMul && st.mode == OperandMode::kPlane && st.stride_n == 0) {
          out->push_back({Simple::kMulChannel, 0, 0, st.operand, st.stride_c});
        } else {
          return false;
        }
        break;
      default:
        return false;
    }
  }
  // Merge neighbouring clamps whose intervals overlap.
  std::vector<Simple> merged;
  for (const Simple& op : *out) {
    if (op.kind == Simple::kClamp && !merged.empty() && merged.back().kind == Simple::kClamp) {
      Simple& last = merged.back();
      const int32_t lo = std::max(last.a, op.a), hi = std::min(last.b, op.b);
      if (lo > hi) return false;
      last.a = lo;
      last.b = hi;
      continue;
    }
    merged.push_back(op);
  }
  *out = merged;
  return true;
}

}  // namespace

void Chain::finalize() {
  pattern = Pattern::kGeneric;
  final_write = num_stages > 0 ? stages[num_stages - 1].write : source_write;
  if (!final_write || (num_stages > 0 && source_write)) return;
  std::vector<Simple> ops;
  if (!simplify(*this, &ops)) return;
  // Shapes: [], [C], [R], [R C], [R C A R], [R C A R C], [R? C? M R C?] (C:
  // clamp, R: shift, A: add, M: per-channel multiply, ?: may be missing); a
  // missing clamp is the full range.
  constexpr int32_t kLo = INT32_MIN, kHi = INT32_MAX;
  size_t i = 0;
  auto take = [&](Simple::Kind k) { return i < ops.size() && ops[i].kind == k ? &ops[i++] : nullptr; };
  const Simple* r1 = take(Simple::kRs);
  const Simple* c1 = take(Simple::kClamp);
  const Simple* a = take(Simple::kAddSame);
  const Simple* m = a ? nullptr : take(Simple::kMulChannel);
  const Simple* r2 = a || m ? take(Simple::kRs) : nullptr;
  const Simple* c2 = r2 ? take(Simple::kClamp) : nullptr;
  if (i != ops.size()) return;
  s1 = r1 ? r1->a : 0;
  lo1 = c1 ? c1->a : kLo;
  hi1 = c1 ? c1->b : kHi;
  if (a) {
    if (!r1 || !r2) return;
    operand = a->operand;
    s2 = r2->a;
    lo2 = c2 ? c2->a : kLo;
    hi2 = c2 ? c2->b : kHi;
    pattern = Pattern::kResidual;
  } else if (m) {
    // Without a first shift (s1 = 0) the first clamp (or none: the full
    // range, as an average pool's sum times its multiplier) comes before
    // the product, which wraps as the operator's does.
    if (!r2) return;
    mul = m->operand;
    mul_stride = m->stride;
    s2 = r2->a;
    lo2 = c2 ? c2->a : kLo;
    hi2 = c2 ? c2->b : kHi;
    pattern = Pattern::kRequant;
  } else if (r1) {
    pattern = Pattern::kShiftClamp;
  } else if (c1) {
    pattern = Pattern::kClamp;
  } else {
    pattern = Pattern::kStore;
  }
}

void chain_scalar(const Chain& chain, const int32_t* src, int64_t len, int64_t flat, int64_t n,
                  int64_t c, int32_t add) {
  for (int64_t j = 0; j < len; ++j) {
    int32_t x = static_cast<int32_t>(static_cast<uint32_t>(src[j]) + static_cast<uint32_t>(add));
    if (chain.source_write) chain.source_write[flat + j] = x;
    for (int s = 0; s < chain.num_stages; ++s) {
      const Stage& st = chain.stages[s];
      int32_t operand = 0;
      if (st.op == StageOp::kBinary) {
        operand = st.mode == OperandMode::kSame ? st.operand[flat + j]
                                                : st.operand[n * st.stride_n + c * st.stride_c];
      }
      x = apply(st, x, operand);
      if (st.write) st.write[flat + j] = x;
    }
  }
}

const Table* table(Isa isa) {
#if defined(__x86_64__) || defined(_M_X64)
  switch (isa) {
    case Isa::kAvx512: return table_avx512();
    case Isa::kAvx2: return table_avx2();
    default: return nullptr;
  }
#else
  (void)isa;
  return nullptr;
#endif
}

}  // namespace kernels
}  // namespace cvm
