// Masked tails, and the epilogue patterns a convolution or dense runs on its
// accumulators (Pattern, Table::chain, Table::epilogue).

// A part of kernels/simd_impl.h, included there inside the ISA's namespace.
#if defined(__AVX512F__)
inline VecI load_n(const int32_t* p, int64_t n) {
  return VecI(_mm512_maskz_loadu_epi32(static_cast<__mmask16>((1u << n) - 1), p));
}
inline void store_n(int32_t* p, VecI v, int64_t n) {
  _mm512_mask_storeu_epi32(p, static_cast<__mmask16>((1u << n) - 1), v);
}
#else
inline __m256i tail_mask(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline VecI load_n(const int32_t* p, int64_t n) {
  return VecI(_mm256_maskload_epi32(p, tail_mask(n)));
}
inline void store_n(int32_t* p, VecI v, int64_t n) { _mm256_maskstore_epi32(p, tail_mask(n), v); }
#endif

// dst[j] = f(src[j] vector, j, count) over len values, the last vector
// masked.
template <typename F>
inline void apply(const int32_t* src, int64_t len, int32_t* dst, const F& f) {
  int64_t j = 0;
  for (; j + kLanes <= len; j += kLanes) {
    f(VecI::load_unaligned(src + j), j, kLanes).store_unaligned(dst + j);
  }
  if (j < len) store_n(dst + j, f(load_n(src + j, len - j), j, len - j), len - j);
}

inline VecI clampv(VecI x, VecI lo, VecI hi) { return xsimd::min(xsimd::max(x, lo), hi); }

// The exact rounding shift of the patterns (see Pattern).
inline VecI rs_exact(VecI x, int s) {
  const VecI t = x >> (s - 1);
  return (t >> 1) + (t & VecI(1));
}

// The epilogue pattern's parameters, copied out of the chain into locals
// before a loop (stores through int8 pointers would otherwise make the
// compiler reload them from the chain after every store). The rounding
// shifts add half and shift where that cannot overflow (Chain::round1,
// round2: two operations instead of four), else round exactly.
struct PatternArgs {
  explicit PatternArgs(const Chain& ch)
      : s1(ch.s1), s2(ch.s2), lo1(ch.lo1), hi1(ch.hi1), lo2(ch.lo2), hi2(ch.hi2),
        half1(ch.round1 ? 1 << (ch.s1 - 1) : 0), half2(ch.round2 ? 1 << (ch.s2 - 1) : 0),
        round1(ch.round1), round2(ch.round2) {}
  int s1, s2;
  VecI lo1, hi1, lo2, hi2, half1, half2;
  bool round1, round2;
};

// The first rounding shift of a pattern (none for kRequant's shift of 0).
template <Pattern P>
inline VecI pattern_first_shift(const PatternArgs& pa, VecI x) {
  if (P == Pattern::kRequant && pa.s1 == 0) return x;
  return pa.round1 ? (x + pa.half1) >> pa.s1 : rs_exact(x, pa.s1);
}

// The pattern's value on one vector (y the residual operand for kResidual,
// the multiplier for kRequant) before its final clamp, which is [lo1, hi1] for
// kClamp and kShiftClamp, [lo2, hi2] for kRequant and kResidual (kStore has
// none: the value itself).
template <Pattern P>
inline VecI pattern_unclamped(const PatternArgs& pa, VecI x, VecI y) {
  if (P == Pattern::kStore || P == Pattern::kClamp) return x;
  VecI v = pattern_first_shift<P>(pa, x);
  if (P == Pattern::kShiftClamp) return v;
  v = clampv(v, pa.lo1, pa.hi1);
  v = P == Pattern::kRequant ? v * y : v + y;
  return pa.round2 ? (v + pa.half2) >> pa.s2 : rs_exact(v, pa.s2);
}

// The epilogue patterns on one vector.
template <Pattern P>
inline VecI pattern_value(const PatternArgs& pa, VecI x, VecI y) {
  const VecI v = pattern_unclamped<P>(pa, x, y);
  if (P == Pattern::kStore) return v;
  if (P == Pattern::kClamp || P == Pattern::kShiftClamp) return clampv(v, pa.lo1, pa.hi1);
  return clampv(v, pa.lo2, pa.hi2);
}

#if defined(__AVX512F__)
// Bytes narrowed by saturating packs, clamped to [lo8, hi8]: when the final
// bounds are within int8 (Chain::int8_values), the values clamped first.
inline __m512i clamp_bytes(__m512i b, __m512i lo8, __m512i hi8) {
  return _mm512_min_epi8(_mm512_max_epi8(b, lo8), hi8);
}
#endif

void run_chain(const Chain& ch, const int32_t* src, int64_t len, int64_t flat, int64_t n,
               int64_t c, int32_t add) {
  const VecI a(add);
  // A generic chain may have no final write (every write skipped): no offset
  // on a null pointer then.
  int32_t* dst = ch.pattern == Pattern::kGeneric ? nullptr : ch.final_write + flat;
  switch (ch.pattern) {
    case Pattern::kStore:
      apply(src, len, dst, [&](VecI x, int64_t, int64_t) { return x + a; });
      return;
    case Pattern::kClamp: {
      const VecI lo(ch.lo1), hi(ch.hi1);
      apply(src, len, dst, [&](VecI x, int64_t, int64_t) { return clampv(x + a, lo, hi); });
      return;
    }
    case Pattern::kShiftClamp: {
      const VecI lo(ch.lo1), hi(ch.hi1);
      apply(src, len, dst, [&](VecI x, int64_t, int64_t) {
        return clampv(rs_exact(x + a, ch.s1), lo, hi);
      });
      return;
    }
    case Pattern::kResidual: {
      const VecI lo1(ch.lo1), hi1(ch.hi1), lo2(ch.lo2), hi2(ch.hi2);
      const int32_t* op = ch.operand + flat;
      apply(src, len, dst, [&](VecI x, int64_t j, int64_t cnt) {
        const VecI y = cnt == kLanes ? VecI::load_unaligned(op + j) : load_n(op + j, cnt);
        const VecI v = clampv(rs_exact(x + a, ch.s1), lo1, hi1) + y;
        return clampv(rs_exact(v, ch.s2), lo2, hi2);
      });
      return;
    }
    case Pattern::kRequant: {
      const PatternArgs pa(ch);
      const VecI m(ch.mul_of(c));
      apply(src, len, dst, [&](VecI x, int64_t, int64_t) {
        return pattern_value<Pattern::kRequant>(pa, x + a, m);
      });
      return;
    }
    case Pattern::kGeneric:
      break;
  }
  chain_vector(ch, src, len, flat, n, c, add);
}

void epilogue(const Chain& ch, const int32_t* tile, int64_t ldc, int rows, const Segment* segs,
              int nsegs, int64_t flat0, int64_t plane, int64_t n, int64_t c0, const int32_t* add) {
  for (int m = 0; m < rows; ++m) {
    for (int s = 0; s < nsegs; ++s) {
      run_chain(ch, tile + m * ldc + segs[s].offset, segs[s].len, flat0 + m * plane + segs[s].out,
                n, c0 + m, add[m]);
    }
  }
}

// Values [j, j + n) (n <= kLanes) of an int32 run, or of its int8 copy
// when `p8` is given, as a vector (lanes past n zero).
inline VecI load_values(const int32_t* p, const int8_t* p8, int64_t j, int64_t n) {
#if defined(__AVX512F__)
  // Masked loads for the tail too (a copy through the stack made every
  // load wait on the copy's stores).
  const __mmask16 m = static_cast<__mmask16>(n == kLanes ? 0xFFFFu : (1u << n) - 1u);
  return p8 ? VecI(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, p8 + j)))
            : VecI(_mm512_maskz_loadu_epi32(m, p + j));
#else
  if (n == kLanes) return p8 ? load_int8(p8 + j) : VecI::load_unaligned(p + j);
  // The tail through a zero-padded copy.
  alignas(64) int8_t tail[kLanes] = {};
  if (p8) std::memcpy(tail, p8 + j, static_cast<size_t>(n));
  return p8 ? load_int8(tail) : load_n(p + j, n);
#endif
}

// Lanes [0, n) of r to values [j, j + n): as int8 to dst8 (OutB), else as
// int32 to dst.
template <bool OutB>
inline void store_values(int32_t* dst, int8_t* dst8, int64_t j, int64_t n, const VecI& r) {
  if (!OutB) {
    if (n == kLanes) {
      r.store_unaligned(dst + j);
    } else {
      store_n(dst + j, r, n);
    }
    return;
  }
#if defined(__AVX512F__)
  _mm512_mask_cvtepi32_storeu_epi8(dst8 + j, static_cast<__mmask16>((1u << n) - 1u), r);
#else
  alignas(64) int32_t v[kLanes];
  r.store_aligned(v);
  for (int64_t k = 0; k < n; ++k) dst8[j + k] = static_cast<int8_t>(v[k]);
#endif
}

#if defined(__AVX512F__)
// scale_add_chain from int8 to int8 with multipliers of 16 bits, 64 values
// at a time: the pairs (a, b) as int16 times the pair (ka, kb) by one
// vpmaddwd per 16 sums (exact: each product fits 31 bits, their sum 32),
// and the four vectors of values narrowed together by saturating packs and
// clamped as bytes (the final clamp is within int8). The packs put back in
// order what the unpacks interleaved, but for one permute of 8-byte runs.
template <Pattern P>
void scale_add_bytes(const PatternArgs& pa, const int8_t* a8, int32_t ka, const int8_t* b8,
                     int32_t kb, int32_t add, int64_t len, VecI y, int32_t lo, int32_t hi,
                     int8_t* dst8) {
  const __m512i k = _mm512_set1_epi32(static_cast<int32_t>((static_cast<uint32_t>(kb) << 16) |
                                                           (static_cast<uint32_t>(ka) & 0xFFFFu)));
  const VecI vadd(add);
  const __m512i lo8 = _mm512_set1_epi8(static_cast<char>(lo));
  const __m512i hi8 = _mm512_set1_epi8(static_cast<char>(hi));
  const __m512i order = _mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7);
  for (int64_t j = 0; j < len; j += 64) {
    const int64_t n = std::min<int64_t>(64, len - j);
    const __mmask64 m = n == 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1u;
    const __m512i va = _mm512_maskz_loadu_epi8(m, a8 + j), vb = _mm512_maskz_loadu_epi8(m, b8 + j);
    __m512i half[2];
    for (int h = 0; h < 2; ++h) {
      // Values 32h .. 32h + 31: in 128-bit lane L, pairs of values 8L ..
      // 8L + 3 (lo) and 8L + 4 .. 8L + 7 (hi) of the half.
      const __m512i a16 = _mm512_cvtepi8_epi16(h == 0 ? _mm512_castsi512_si256(va)
                                                      : _mm512_extracti64x4_epi64(va, 1));
      const __m512i b16 = _mm512_cvtepi8_epi16(h == 0 ? _mm512_castsi512_si256(vb)
                                                      : _mm512_extracti64x4_epi64(vb, 1));
      const VecI s0(_mm512_madd_epi16(_mm512_unpacklo_epi16(a16, b16), k));
      const VecI s1(_mm512_madd_epi16(_mm512_unpackhi_epi16(a16, b16), k));
      half[h] = _mm512_packs_epi32(pattern_unclamped<P>(pa, s0 + vadd, y),
                                   pattern_unclamped<P>(pa, s1 + vadd, y));
    }
    const __m512i r = _mm512_permutexvar_epi64(order, _mm512_packs_epi16(half[0], half[1]));
    _mm512_mask_storeu_epi8(dst8 + j, m, clamp_bytes(r, lo8, hi8));
  }
}
#endif

// Table::scale_add_chain.
template <Pattern P, bool OutB>
void scale_add_pattern(const Chain& ch, const int32_t* a, const int8_t* a8, int32_t ka,
                       const int32_t* b, const int8_t* b8, int32_t kb, int32_t add, int64_t len,
                       int64_t flat, int64_t c) {
  const PatternArgs pa(ch);
#if defined(__AVX512F__)
  if constexpr (OutB && P != Pattern::kStore) {
    auto int16 = [](int32_t v) { return v >= -32768 && v <= 32767; };
    if (a8 && b8 && int16(ka) && int16(kb) && ch.int8_values()) {
      int32_t lo = 0, hi = 0;
      ch.final_bounds(&lo, &hi);
      scale_add_bytes<P>(pa, a8, ka, b8, kb, add, len,
                         VecI(P == Pattern::kRequant ? ch.mul_of(c) : 0), lo, hi,
                         ch.final_bytes + flat);
      return;
    }
  }
#endif
  const VecI va(ka), vb(kb), vadd(add);
  const VecI y(P == Pattern::kRequant ? ch.mul_of(c) : 0);
  int32_t* dst = OutB ? nullptr : ch.final_write + flat;
  int8_t* dst8 = OutB ? ch.final_bytes + flat : nullptr;
  for (int64_t j = 0; j < len; j += kLanes) {
    const int64_t n = std::min<int64_t>(kLanes, len - j);
    const VecI x = load_values(a, a8, j, n), z = load_values(b, b8, j, n);
    store_values<OutB>(dst, dst8, j, n, pattern_value<P>(pa, x * va + z * vb + vadd, y));
  }
}

template <Pattern P>
void scale_add_p(const Chain& ch, const int32_t* a, const int8_t* a8, int32_t ka, const int32_t* b,
                 const int8_t* b8, int32_t kb, int32_t add, int64_t len, int64_t flat, int64_t c) {
  if (ch.final_bytes) {
    scale_add_pattern<P, true>(ch, a, a8, ka, b, b8, kb, add, len, flat, c);
  } else {
    scale_add_pattern<P, false>(ch, a, a8, ka, b, b8, kb, add, len, flat, c);
  }
}

bool scale_add_chain(const Chain& ch, const int32_t* a, const int8_t* a8, int32_t ka,
                     const int32_t* b, const int8_t* b8, int32_t kb, int32_t add, int64_t len,
                     int64_t flat, int64_t c) {
  switch (ch.pattern) {
    case Pattern::kStore: scale_add_p<Pattern::kStore>(ch, a, a8, ka, b, b8, kb, add, len, flat, c); return true;
    case Pattern::kClamp: scale_add_p<Pattern::kClamp>(ch, a, a8, ka, b, b8, kb, add, len, flat, c); return true;
    case Pattern::kShiftClamp: scale_add_p<Pattern::kShiftClamp>(ch, a, a8, ka, b, b8, kb, add, len, flat, c); return true;
    case Pattern::kRequant: scale_add_p<Pattern::kRequant>(ch, a, a8, ka, b, b8, kb, add, len, flat, c); return true;
    default: return false;
  }
}

// Table::scale_channels_chain. The lane parameters (tap, bias, multiplier)
// are those of the channel at hand, blended with the next channel's in the
// vector that crosses into it (plane >= kLanes: at most one crossing).
template <Pattern P, bool OutB>
void scale_channels_pattern(const Chain& ch, const int32_t* x, const int8_t* x8,
                            const int32_t* w, const int32_t* bias, int64_t plane, int64_t c0,
                            int64_t c1, int64_t flat0) {
  const PatternArgs pa(ch);
  int32_t* dst = OutB ? nullptr : ch.final_write + flat0;
  int8_t* dst8 = OutB ? ch.final_bytes + flat0 : nullptr;
  const int32_t* src = x8 ? nullptr : x + flat0;
  const int8_t* src8 = x8 ? x8 + flat0 : nullptr;
  alignas(64) int32_t lane_index[kLanes];
  for (int k = 0; k < kLanes; ++k) lane_index[k] = k;
  const VecI iota = VecI::load_aligned(lane_index);
  auto tap = [&](int64_t c) { return VecI(w[c]); };
  auto add = [&](int64_t c) { return VecI(bias ? bias[c] : 0); };
  auto mul = [&](int64_t c) { return VecI(P == Pattern::kRequant ? ch.mul_of(c) : 0); };
  int64_t c = c0;
  int64_t left = plane;  // values of channel c from the vector's start
  VecI vw = tap(c), va = add(c), vm = mul(c);
  const int64_t len = (c1 - c0) * plane;
  for (int64_t j = 0; j < len; j += kLanes) {
    const int64_t n = std::min<int64_t>(kLanes, len - j);
    VecI kw = vw, ka = va, km = vm;
    if (left <= kLanes) {
      // Lanes from `left` on are the next channel's.
      ++c;
      if (c < c1) {
        vw = tap(c);
        va = add(c);
        vm = mul(c);
        const auto own = iota < VecI(static_cast<int32_t>(left));
        kw = xsimd::select(own, kw, vw);
        ka = xsimd::select(own, ka, va);
        km = xsimd::select(own, km, vm);
      }
      left = plane - (kLanes - left);
    } else {
      left -= kLanes;
    }
    const VecI v = load_values(src, src8, j, n);
    store_values<OutB>(dst, dst8, j, n, pattern_value<P>(pa, v * kw + ka, km));
  }
}

template <Pattern P>
void scale_channels_p(const Chain& ch, const int32_t* x, const int8_t* x8, const int32_t* w,
                      const int32_t* bias, int64_t plane, int64_t c0, int64_t c1, int64_t flat0) {
  if (ch.final_bytes) {
    scale_channels_pattern<P, true>(ch, x, x8, w, bias, plane, c0, c1, flat0);
  } else {
    scale_channels_pattern<P, false>(ch, x, x8, w, bias, plane, c0, c1, flat0);
  }
}

bool scale_channels_chain(const Chain& ch, const int32_t* x, const int8_t* x8, const int32_t* w,
                          const int32_t* bias, int64_t plane, int64_t c0, int64_t c1,
                          int64_t flat0) {
  if (plane < kLanes) return false;
  switch (ch.pattern) {
    case Pattern::kStore: scale_channels_p<Pattern::kStore>(ch, x, x8, w, bias, plane, c0, c1, flat0); return true;
    case Pattern::kClamp: scale_channels_p<Pattern::kClamp>(ch, x, x8, w, bias, plane, c0, c1, flat0); return true;
    case Pattern::kShiftClamp: scale_channels_p<Pattern::kShiftClamp>(ch, x, x8, w, bias, plane, c0, c1, flat0); return true;
    case Pattern::kRequant: scale_channels_p<Pattern::kRequant>(ch, x, x8, w, bias, plane, c0, c1, flat0); return true;
    default: return false;
  }
}
