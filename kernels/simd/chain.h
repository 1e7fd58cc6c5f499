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


// Table::scale_add.
inline VecI load_int8(const int8_t* p) {
#if defined(__AVX512F__)
  return VecI(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
#else
  return VecI(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
#endif
}

void scale_add(const int32_t* a, const int8_t* a8, int32_t ka, const int32_t* b, const int8_t* b8,
               int32_t kb, int64_t len, int32_t* out) {
  const VecI va(ka), vb(kb);
  int64_t j = 0;
  for (; j + kLanes <= len; j += kLanes) {
    const VecI x = a8 ? load_int8(a8 + j) : VecI::load_unaligned(a + j);
    const VecI y = b8 ? load_int8(b8 + j) : VecI::load_unaligned(b + j);
    (x * va + y * vb).store_unaligned(out + j);
  }
  for (; j < len; ++j) {
    const uint32_t x = static_cast<uint32_t>(a8 ? int32_t{a8[j]} : a[j]);
    const uint32_t y = static_cast<uint32_t>(b8 ? int32_t{b8[j]} : b[j]);
    out[j] = static_cast<int32_t>(x * static_cast<uint32_t>(ka) + y * static_cast<uint32_t>(kb));
  }
}
