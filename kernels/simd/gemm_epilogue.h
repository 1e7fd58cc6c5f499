// Product tiles with the epilogue fused (Table::gemm_fused) and the
// transposed product for few pixels (AVX-512, Table::gemm_t, epilogue_t).

// A part of kernels/simd_impl.h, included there inside the ISA's namespace.
constexpr uint32_t kFull = (1u << kLanes) - 1u;

// Loads the lanes of `mask` from consecutive values at p (AVX-512: any
// mask, expanded; AVX2: a prefix).
inline VecI load_expand(const int32_t* p, uint32_t mask) {
  if (mask == kFull) return VecI::load_unaligned(p);
#if defined(__AVX512F__)
  return VecI(_mm512_maskz_expandloadu_epi32(static_cast<__mmask16>(mask), p));
#else
  return load_n(p, __builtin_popcount(mask));
#endif
}

// Stores the lanes of `mask` to consecutive values at p.
inline void store_compress(int32_t* p, VecI v, uint32_t mask) {
  if (mask == kFull) {
    v.store_unaligned(p);
    return;
  }
#if defined(__AVX512F__)
  const __m512i packed = _mm512_maskz_compress_epi32(static_cast<__mmask16>(mask), v);
  _mm512_mask_storeu_epi32(p, static_cast<__mmask16>((1u << __builtin_popcount(mask)) - 1u), packed);
#else
  store_n(p, v, __builtin_popcount(mask));
#endif
}

#if defined(__AVX512F__)
// Byte activations: the lanes of `mask` from consecutive int8 values at p,
// expanded; and the lanes of `mask` stored as consecutive int8 values.
inline VecI load_expand_bytes(const int8_t* p, uint32_t mask) {
  if (mask == kFull) return VecI(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  const __mmask16 head = static_cast<__mmask16>((1u << __builtin_popcount(mask)) - 1u);
  return VecI(_mm512_maskz_expand_epi32(static_cast<__mmask16>(mask),
                                        _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(head, p))));
}
inline void store_compress_bytes(int8_t* p, VecI v, uint32_t mask) {
  if (mask == kFull) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm512_cvtepi32_epi8(v));
    return;
  }
  const __m512i packed = _mm512_maskz_compress_epi32(static_cast<__mmask16>(mask), v);
  _mm_mask_storeu_epi8(p, static_cast<__mmask16>((1u << __builtin_popcount(mask)) - 1u),
                       _mm512_cvtepi32_epi8(packed));
}
#endif

#if defined(__AVX512F__)
// kRequant's rows of three full vectors of byte outputs in 16-bit lanes,
// when that is exact (requant_16_ok): the values after the first shift are
// packed to int16 (saturating: the clamp's bounds are within int16, so no
// clamped value changes) and clamped; with |mul| < 2^15 the product v * mul
// fits 31 bits, and for a second shift s2 = 16 + t, t in [1, 15], its
// rounding shift floor((v * mul + 2^(s2 - 1)) / 2^s2) is
// (hi + 2^(t - 1)) >> t where hi = floor(v * mul / 2^16) (vpmulhw): the low
// half adds less than 1 to a value whose fraction below 2^t is at most
// (2^t - 1) / 2^t; |hi| < 2^14, so the sum stays inside int16.
inline bool requant_16_ok(const Chain& ch, int rows, const int32_t* mul) {
  const int t = ch.s2 - 16;
  if (t < 1 || t > 15 || ch.lo1 < -32768 || ch.hi1 > 32767 || ch.lo1 > ch.hi1) return false;
  for (int m = 0; m < rows; ++m) {
    if (mul[m] < -32767 || mul[m] > 32767) return false;
  }
  return true;
}

// One row (three vectors of sums): the int8 values, in the order of the
// caller's packs (see gemm_fused_tile).
inline __m512i requant_row_16(const PatternArgs& pa, __m512i a0, __m512i a1, __m512i a2,
                              __m512i mul16, __m512i lo1, __m512i hi1, __m512i half,
                              __m128i count) {
  __m512i v01 = _mm512_packs_epi32(pattern_first_shift<Pattern::kRequant>(pa, VecI(a0)),
                                   pattern_first_shift<Pattern::kRequant>(pa, VecI(a1)));
  const __m512i v2 = pattern_first_shift<Pattern::kRequant>(pa, VecI(a2));
  __m512i v22 = _mm512_packs_epi32(v2, v2);
  v01 = _mm512_min_epi16(_mm512_max_epi16(v01, lo1), hi1);
  v22 = _mm512_min_epi16(_mm512_max_epi16(v22, lo1), hi1);
  const __m512i r01 = _mm512_sra_epi16(_mm512_add_epi16(_mm512_mulhi_epi16(v01, mul16), half), count);
  const __m512i r22 = _mm512_sra_epi16(_mm512_add_epi16(_mm512_mulhi_epi16(v22, mul16), half), count);
  return _mm512_packs_epi16(r01, r22);
}
#endif

// OutB / OpB: the final values / the residual operand as bytes (AVX-512).
template <int NV, Pattern P, bool OutB, bool OpB>
void gemm_fused_tile(const uint32_t* a, const uint32_t* b, const int64_t* koff, int64_t kc,
                     const int32_t* cin, int64_t ldc, const Chain& ch, int64_t flat0,
                     int64_t plane, int rows, const int32_t* add, const int32_t* mul, const TileMap& map, Prefetch ahead) {
#if defined(__AVX512F__)
  using Reg = __m512i;
#else
  using Reg = __m256i;
#endif
  // The accumulators start at the row's add (bias - compensation), not
  // added in the epilogue: one operation a vector less there.
  Reg acc[kMr][NV];
#pragma GCC unroll 8
  for (int m = 0; m < kMr; ++m) {
    const VecI am(m < rows ? add[m] : 0);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      acc[m][v] = cin ? Reg(VecI::load_unaligned(cin + m * ldc + v * kLanes) + am) : Reg(am);
    }
  }
  for (int64_t k = 0; k < kc; ++k) {
    if (k < ahead.lines) _mm_prefetch(ahead.at + 64 * k, _MM_HINT_T0);
    Reg bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = VecI::load_unaligned(reinterpret_cast<const int32_t*>(b + koff[k]) + v * kLanes);
    const int32_t* ak = reinterpret_cast<const int32_t*>(a + k * kMr);
#pragma GCC unroll 8
    for (int m = 0; m < kMr; ++m) {
#if defined(__AVX512F__)
      const __m512i av = _mm512_set1_epi32(ak[m]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[m][v] = _mm512_dpbusd_epi32(acc[m][v], bv[v], av);
#else
      const __m256i av = _mm256_set1_epi32(ak[m]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[m][v] = _mm256_add_epi32(acc[m][v], _mm256_madd_epi16(bv[v], av));
#endif
    }
  }
  const PatternArgs pa(ch);
  int32_t* dst = OutB ? nullptr : ch.final_write + flat0;
  const int32_t* op = P == Pattern::kResidual && !OpB ? ch.operand + flat0 : nullptr;
#if defined(__AVX512F__)
  int8_t* dst8 = OutB ? ch.final_bytes + flat0 : nullptr;
  const int8_t* op8 = P == Pattern::kResidual && OpB ? ch.operand_bytes + flat0 : nullptr;
#endif
#if defined(__AVX512F__)
  // Byte output of three full vectors of consecutive pixels: the row's 48
  // values narrowed together by two saturating packs and one permute, and
  // clamped as bytes (the final clamp within int8: saturating first changes
  // no clamped value), one store; instead of a clamp and a narrowing store
  // a vector.
  if constexpr (OutB && NV == 3 && P != Pattern::kStore) {
    if (ch.int8_values() && map.mask[0] == kFull && map.mask[1] == kFull &&
        map.mask[2] == kFull && map.out[1] == map.out[0] + kLanes &&
        map.out[2] == map.out[0] + 2 * kLanes) {
      int32_t lo = 0, hi = 0;
      ch.final_bounds(&lo, &hi);
      // Dword d of 128-bit lane k after the packs: 4 values of vector d
      // (d < 3) from pixel 4k; put back as vector 0, 1, 2 in pixel order,
      // clamped, the row's 48 bytes stored.
      const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
      const __m512i lo8 = _mm512_set1_epi8(static_cast<char>(lo));
      const __m512i hi8 = _mm512_set1_epi8(static_cast<char>(hi));
      auto store_row = [&](int m, __m512i packed) {
        _mm512_mask_storeu_epi8(dst8 + m * plane + map.out[0], 0x0000FFFFFFFFFFFFull,
                                clamp_bytes(_mm512_permutexvar_epi32(order, packed), lo8, hi8));
      };
      if constexpr (P == Pattern::kRequant) {
        if (requant_16_ok(ch, rows, mul)) {
          const int t = ch.s2 - 16;
          const __m512i lo1 = _mm512_set1_epi16(static_cast<short>(ch.lo1));
          const __m512i hi1 = _mm512_set1_epi16(static_cast<short>(ch.hi1));
          const __m512i half = _mm512_set1_epi16(static_cast<short>(1 << (t - 1)));
          const __m128i count = _mm_cvtsi32_si128(t);
#pragma GCC unroll 8
          for (int m = 0; m < kMr; ++m) {
            if (m >= rows) break;
            store_row(m, requant_row_16(pa, acc[m][0], acc[m][1], acc[m][2],
                                        _mm512_set1_epi16(static_cast<short>(mul[m])), lo1, hi1,
                                        half, count));
          }
          return;
        }
      }
#pragma GCC unroll 8
      for (int m = 0; m < kMr; ++m) {
        if (m >= rows) break;
        const VecI mm(P == Pattern::kRequant ? mul[m] : 0);
        const int64_t at = m * plane + map.out[0];
        __m512i r[3];
#pragma GCC unroll 3
        for (int v = 0; v < 3; ++v) {
          VecI y = mm;
          if (P == Pattern::kResidual) {
            y = OpB ? load_expand_bytes(op8 + at + v * kLanes, kFull)
                    : VecI::load_unaligned(op + at + v * kLanes);
          }
          r[v] = pattern_unclamped<P>(pa, VecI(acc[m][v]), y);
        }
        store_row(m, _mm512_packs_epi16(_mm512_packs_epi32(r[0], r[1]),
                                        _mm512_packs_epi32(r[2], r[2])));
      }
      return;
    }
  }
#endif
#pragma GCC unroll 8
  for (int m = 0; m < kMr; ++m) {
    if (m >= rows) break;
    const VecI mm(P == Pattern::kRequant ? mul[m] : 0);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const uint32_t mask = map.mask[v];
      if (!mask) continue;
      const int64_t at = m * plane + map.out[v];
      VecI y = mm;
#if defined(__AVX512F__)
      if (P == Pattern::kResidual) y = OpB ? load_expand_bytes(op8 + at, mask) : load_expand(op + at, mask);
      const VecI r = pattern_value<P>(pa, VecI(acc[m][v]), y);
      if (OutB) {
        store_compress_bytes(dst8 + at, r, mask);
      } else {
        store_compress(dst + at, r, mask);
      }
#else
      if (P == Pattern::kResidual) y = load_expand(op + at, mask);
      store_compress(dst + at, pattern_value<P>(pa, VecI(acc[m][v]), y), mask);
#endif
    }
  }
}

template <Pattern P, bool OutB, bool OpB>
void gemm_fused_b(const uint32_t* a, const uint32_t* b, const int64_t* koff, int64_t kc,
                  const int32_t* cin, int64_t ldc, const Chain& ch, int64_t flat0, int64_t plane,
                  int rows, const int32_t* add, const int32_t* mul, const TileMap& map, Prefetch ahead) {
  switch (map.nvec) {
    case 1: gemm_fused_tile<1, P, OutB, OpB>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, mul, map, ahead); break;
    case 2: gemm_fused_tile<2, P, OutB, OpB>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, mul, map, ahead); break;
    default: gemm_fused_tile<3, P, OutB, OpB>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, mul, map, ahead); break;
  }
}

// Only a residual pattern reads an operand: the others are not compiled with
// a byte operand.
template <Pattern P, bool OutB>
void gemm_fused_o(const uint32_t* a, const uint32_t* b, const int64_t* koff, int64_t kc,
                  const int32_t* cin, int64_t ldc, const Chain& ch, int64_t flat0, int64_t plane,
                  int rows, const int32_t* add, const int32_t* mul, const TileMap& map, Prefetch ahead) {
  if constexpr (P == Pattern::kResidual) {
    if (ch.operand_bytes) {
      gemm_fused_b<P, OutB, true>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, mul, map, ahead);
      return;
    }
  }
  gemm_fused_b<P, OutB, false>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, mul, map, ahead);
}

template <Pattern P>
void gemm_fused_p(const uint32_t* a, const uint32_t* b, const int64_t* koff, int64_t kc,
                  const int32_t* cin, int64_t ldc, const Chain& ch, int64_t flat0, int64_t plane,
                  int rows, const int32_t* add, const int32_t* mul, const TileMap& map, Prefetch ahead) {
#if defined(__AVX512F__)
  if (ch.final_bytes) {
    gemm_fused_o<P, true>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, mul, map, ahead);
  } else {
    gemm_fused_o<P, false>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, mul, map, ahead);
  }
#else
  gemm_fused_b<P, false, false>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, mul, map, ahead);
#endif
}

bool gemm_fused(const uint32_t* a, const uint32_t* b, const int64_t* koff, int64_t kc,
                const int32_t* cin, int64_t ldc, const Chain& ch, int64_t flat0, int64_t plane,
                int rows, const int32_t* add, const int32_t* mul, const TileMap& map, Prefetch ahead) {
#if !defined(__AVX512F__)
  for (int v = 0; v < map.nvec; ++v) {
    if (map.mask[v] & (map.mask[v] + 1)) return false;  // not a prefix
  }
#endif
  switch (ch.pattern) {
    case Pattern::kStore: gemm_fused_p<Pattern::kStore>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, mul, map, ahead); return true;
    case Pattern::kClamp: gemm_fused_p<Pattern::kClamp>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, mul, map, ahead); return true;
    case Pattern::kShiftClamp: gemm_fused_p<Pattern::kShiftClamp>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, mul, map, ahead); return true;
    case Pattern::kResidual: gemm_fused_p<Pattern::kResidual>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, mul, map, ahead); return true;
    case Pattern::kRequant: gemm_fused_p<Pattern::kRequant>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, mul, map, ahead); return true;
    default: return false;
  }
}

#if defined(__AVX512F__)
// The transposed product: 48 output channels (NV vectors of 16 used) x up
// to 7 pixels.
constexpr int kTRows = 7;
template <int NV>
void gemm_t_n(const uint32_t* at, const uint32_t* base, const int64_t* koff, const int64_t* pos,
              int rows, int64_t kc, int32_t* c, bool accumulate, Prefetch ahead) {
  int64_t p[kTRows];
  for (int m = 0; m < kTRows; ++m) p[m] = pos[m < rows ? m : rows - 1];
  __m512i acc[kTRows][NV];
#pragma GCC unroll 7
  for (int m = 0; m < kTRows; ++m) {
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) {
      acc[m][v] = accumulate ? _mm512_loadu_si512(c + m * 48 + v * 16) : _mm512_setzero_si512();
    }
  }
  for (int64_t k = 0; k < kc; ++k) {
    __m512i w[NV];
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) w[v] = _mm512_loadu_si512(at + k * 48 + v * 16);
    if (2 * k < ahead.lines) {
      _mm_prefetch(ahead.at + 128 * k, _MM_HINT_T0);
      if (2 * k + 1 < ahead.lines) _mm_prefetch(ahead.at + 128 * k + 64, _MM_HINT_T0);
    }
    const int32_t* b = reinterpret_cast<const int32_t*>(base + koff[k]);
#pragma GCC unroll 7
    for (int m = 0; m < kTRows; ++m) {
      const __m512i d = _mm512_set1_epi32(b[p[m]]);
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v) acc[m][v] = _mm512_dpbusd_epi32(acc[m][v], d, w[v]);
    }
  }
#pragma GCC unroll 7
  for (int m = 0; m < kTRows; ++m) {
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) _mm512_storeu_si512(c + m * 48 + v * 16, acc[m][v]);
  }
}

void gemm_t(const uint32_t* at, const uint32_t* base, const int64_t* koff, const int64_t* pos,
            int rows, int64_t kc, int32_t* c, bool accumulate, int noc, Prefetch ahead) {
  switch ((noc + 15) / 16) {
    case 1: gemm_t_n<1>(at, base, koff, pos, rows, kc, c, accumulate, ahead); break;
    case 2: gemm_t_n<2>(at, base, koff, pos, rows, kc, c, accumulate, ahead); break;
    default: gemm_t_n<3>(at, base, koff, pos, rows, kc, c, accumulate, ahead); break;
  }
}

// Stores x[m] byte l (m < rows <= 8, l < lanes) at out[l * plane + m]: the
// 8 x 16 bytes transposed (unpacks) into one 8-byte run per lane, each
// stored with a mask of `rows` bytes.
inline void store_byte_runs(__m128i* x, int rows, int lanes, int8_t* out, int64_t plane) {
  for (int m = rows; m < 8; ++m) x[m] = _mm_setzero_si128();
  const __m128i t0 = _mm_unpacklo_epi8(x[0], x[1]), t1 = _mm_unpackhi_epi8(x[0], x[1]);
  const __m128i t2 = _mm_unpacklo_epi8(x[2], x[3]), t3 = _mm_unpackhi_epi8(x[2], x[3]);
  const __m128i t4 = _mm_unpacklo_epi8(x[4], x[5]), t5 = _mm_unpackhi_epi8(x[4], x[5]);
  const __m128i t6 = _mm_unpacklo_epi8(x[6], x[7]), t7 = _mm_unpackhi_epi8(x[6], x[7]);
  // u[k]: lanes 4k .. 4k + 3, four bytes (rows 0-3 or 4-7) each.
  const __m128i u[4] = {_mm_unpacklo_epi16(t0, t2), _mm_unpackhi_epi16(t0, t2),
                        _mm_unpacklo_epi16(t1, t3), _mm_unpackhi_epi16(t1, t3)};
  const __m128i w[4] = {_mm_unpacklo_epi16(t4, t6), _mm_unpackhi_epi16(t4, t6),
                        _mm_unpacklo_epi16(t5, t7), _mm_unpackhi_epi16(t5, t7)};
  const __mmask16 low = static_cast<__mmask16>((1u << rows) - 1u);
  for (int k = 0; k < 4; ++k) {
    // Lanes 4k, 4k + 1 in lo; 4k + 2, 4k + 3 in hi: eight bytes each.
    const __m128i lo = _mm_unpacklo_epi32(u[k], w[k]), hi = _mm_unpackhi_epi32(u[k], w[k]);
    const __m128i pairs[2] = {lo, hi};
    for (int j = 0; j < 4; ++j) {
      const int l = 4 * k + j;
      if (l >= lanes) return;
      // The lane's run is bytes 8 * (j % 2) .. of its pair; the store's
      // base is moved back so that they land at out + l * plane.
      const int shift = 8 * (j % 2);
      _mm_mask_storeu_epi8(offset_ptr(out, l * plane - shift), static_cast<__mmask16>(low << shift),
                           pairs[j / 2]);
    }
  }
}

template <Pattern P, bool OutB, bool OpB>
void epilogue_t_b(const Chain& ch, const int32_t* c, int rows, const int64_t* pix,
                  int64_t flat0, int64_t plane, int noc, const int32_t* add, const int32_t* mul, int32_t* tmp) {
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  int32_t* dst = P == Pattern::kGeneric ? tmp : OutB ? nullptr : ch.final_write + flat0;
  const int32_t* op = P == Pattern::kResidual && !OpB ? ch.operand + flat0 : nullptr;
  int8_t* dst8 = OutB ? ch.final_bytes + flat0 : nullptr;
  // Byte operands are gathered as the 32-bit words starting at each value
  // (the low byte is the value): the entry's pool holds 4 bytes a value, so
  // the three bytes past the last value are inside it.
  const int8_t* op8 = P == Pattern::kResidual && OpB ? ch.operand_bytes + flat0 : nullptr;
  const PatternArgs pa(ch);
  for (int v = 0; v < 3; ++v) {
    const int n = noc - v * 16;
    if (n <= 0) break;
    const __mmask16 mask = static_cast<__mmask16>(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
    const __m512i rowoff = _mm512_mullo_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32(v * 16)),
                                              _mm512_set1_epi32(static_cast<int>(plane)));
    const VecI a = VecI::load_unaligned(add + v * 16);
    const VecI mv = P == Pattern::kRequant ? VecI::load_unaligned(mul + v * 16) : VecI(0);
    // Byte output of pixels in a row (the blocks of a plane): each output
    // channel's run of `rows` bytes by a masked store, after a transpose.
    __m128i bytes_of[8];
    const bool runs = OutB && rows <= 8 && pix[rows - 1] - pix[0] == rows - 1;
    for (int m = 0; m < rows; ++m) {
      const __m512i idx = _mm512_add_epi32(rowoff, _mm512_set1_epi32(static_cast<int>(pix[m])));
      const VecI x = VecI::load_unaligned(c + m * 48 + v * 16) + a;
      VecI y = mv;
      if (P == Pattern::kResidual && OpB) {
        const __m512i w = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), mask, idx, op8, 1);
        y = VecI(_mm512_srai_epi32(_mm512_slli_epi32(w, 24), 24));
      } else if (P == Pattern::kResidual) {
        y = VecI(_mm512_mask_i32gather_epi32(_mm512_setzero_si512(), mask, idx, op, 4));
      }
      constexpr Pattern Q = P == Pattern::kGeneric ? Pattern::kStore : P;
      const VecI r = P == Pattern::kGeneric ? x : pattern_value<Q>(pa, x, y);
      if (runs) {
        bytes_of[m] = _mm512_cvtepi32_epi8(r);
      } else if (OutB) {
        // No byte scatter: lane by lane.
        alignas(16) int8_t bytes[16];
        _mm_store_si128(reinterpret_cast<__m128i*>(bytes), _mm512_cvtepi32_epi8(r));
        int8_t* at = dst8 + pix[m] + v * 16 * plane;
        for (int l = 0; l < std::min(n, 16); ++l) at[l * plane] = bytes[l];
      } else {
        _mm512_mask_i32scatter_epi32(dst, mask, idx, r, 4);
      }
    }
    if (runs) {
      store_byte_runs(bytes_of, rows, std::min(n, 16), dst8 + pix[0] + v * 16 * plane, plane);
    }
  }
}

template <Pattern P, bool OutB>
void epilogue_t_o(const Chain& ch, const int32_t* c, int rows, const int64_t* pix,
                  int64_t flat0, int64_t plane, int noc, const int32_t* add, const int32_t* mul, int32_t* tmp) {
  if constexpr (P == Pattern::kResidual) {
    if (ch.operand_bytes) {
      epilogue_t_b<P, OutB, true>(ch, c, rows, pix, flat0, plane, noc, add, mul, tmp);
      return;
    }
  }
  epilogue_t_b<P, OutB, false>(ch, c, rows, pix, flat0, plane, noc, add, mul, tmp);
}

template <Pattern P>
void epilogue_t_p(const Chain& ch, const int32_t* c, int rows, const int64_t* pix,
                  int64_t flat0, int64_t plane, int noc, const int32_t* add, const int32_t* mul, int32_t* tmp) {
  if constexpr (P != Pattern::kGeneric) {
    if (ch.final_bytes) {
      epilogue_t_o<P, true>(ch, c, rows, pix, flat0, plane, noc, add, mul, tmp);
      return;
    }
  }
  epilogue_t_o<P, false>(ch, c, rows, pix, flat0, plane, noc, add, mul, tmp);
}

void epilogue_t(const Chain& ch, const int32_t* c, int rows, const int64_t* pix, int64_t flat0,
                int64_t plane, int noc, const int32_t* add, const int32_t* mul, int32_t* tmp) {
  switch (ch.pattern) {
    case Pattern::kStore: epilogue_t_p<Pattern::kStore>(ch, c, rows, pix, flat0, plane, noc, add, mul, tmp); break;
    case Pattern::kClamp: epilogue_t_p<Pattern::kClamp>(ch, c, rows, pix, flat0, plane, noc, add, mul, tmp); break;
    case Pattern::kShiftClamp: epilogue_t_p<Pattern::kShiftClamp>(ch, c, rows, pix, flat0, plane, noc, add, mul, tmp); break;
    case Pattern::kResidual: epilogue_t_p<Pattern::kResidual>(ch, c, rows, pix, flat0, plane, noc, add, mul, tmp); break;
    case Pattern::kRequant: epilogue_t_p<Pattern::kRequant>(ch, c, rows, pix, flat0, plane, noc, add, mul, tmp); break;
    default: epilogue_t_p<Pattern::kGeneric>(ch, c, rows, pix, flat0, plane, noc, add, mul, tmp); break;
  }
}

#endif

