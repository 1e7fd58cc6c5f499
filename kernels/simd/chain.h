// Element-wise chains over a flat range (Table::chain building block).
// A part of kernels/simd_impl.h, included there inside the ISA's namespace.

inline VecI round_shift(VecI x, int s) {
  VecI t = x >> (s - 1);
  return (t + VecI(1)) >> 1;
}

void chain_vector(const Chain& ch, const int32_t* src, int64_t len, int64_t flat, int64_t n,
                  int64_t c, int32_t add) {
  VecI plane[kMaxStages];
  for (int s = 0; s < ch.num_stages; ++s) {
    const Stage& st = ch.stages[s];
    if (st.op == StageOp::kBinary && st.mode == OperandMode::kPlane) {
      plane[s] = VecI(st.operand[n * st.stride_n + c * st.stride_c]);
    }
  }
  const VecI vadd(add);
  int64_t j = 0;
  for (; j + kLanes <= len; j += kLanes) {
    VecI x = VecI::load_unaligned(src + j) + vadd;
    if (ch.source_write) x.store_unaligned(ch.source_write + flat + j);
    for (int s = 0; s < ch.num_stages; ++s) {
      const Stage& st = ch.stages[s];
      switch (st.op) {
        case StageOp::kClamp:
          x = xsimd::min(xsimd::max(x, VecI(st.lo)), VecI(st.hi));
          break;
        case StageOp::kZero:
          x = VecI(0);
          break;
        case StageOp::kShift31:
          x = x >> 31;
          break;
        case StageOp::kShiftRound:
          x = round_shift(x, st.shift);
          break;
        case StageOp::kShiftSat: {
          VecI r = round_shift(x, st.shift);
          r = xsimd::select(x < VecI(st.x_lo), VecI(-st.hi), r);
          x = xsimd::select(x > VecI(st.x_hi), VecI(st.hi), r);
          break;
        }
        case StageOp::kBinary: {
          const VecI y = st.mode == OperandMode::kSame
                             ? VecI::load_unaligned(st.operand + flat + j)
                             : plane[s];
          switch (st.bin) {
            case BinOp::kAdd: x = x + y; break;
            case BinOp::kSub: x = x - y; break;
            case BinOp::kRSub: x = y - x; break;
            case BinOp::kMul: x = x * y; break;
            case BinOp::kMax: x = xsimd::max(x, y); break;
          }
          break;
        }
      }
      if (st.write) x.store_unaligned(st.write + flat + j);
    }
  }
  if (j < len) chain_scalar(ch, src + j, len - j, flat + j, n, c, add);
}

