// The scalar form of a fused element-wise chain: the same arithmetic as the
// operators' run() (relu, clip, cvm_clip, cvm_right_shift, elemwise and
// broadcast add/sub/mul/max), in uint32 where it wraps.
#include "kernels/fast.h"
#include "kernels/isa.h"

namespace cvm {
namespace kernels {
namespace {

int32_t sra(int32_t v, int s) { return v >= 0 ? (v >> s) : ~((~v) >> s); }

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
      int32_t t = sra(x, st.shift - 1);
      return sra(static_cast<int32_t>(static_cast<uint32_t>(t) + 1u), 1);
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

}  // namespace

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
