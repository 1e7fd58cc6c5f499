// Depthwise conv2d on int8 activations (AVX-512 VBMI, Table::depthwise_u8).
// A part of kernels/simd_impl.h, included there inside the ISA's namespace.

#if defined(__AVX512F__)
// The pointer p + off for off possibly negative, without pointer arithmetic
// outside the object (the masked stores below touch only their lanes).
template <typename T>
inline T* offset_ptr(T* p, int64_t off) {
  return reinterpret_cast<T*>(reinterpret_cast<uintptr_t>(p) +
                              static_cast<uintptr_t>(off) * sizeof(T));
}

// Index vectors putting the pixels of the blocks below back in order:
// value 16 * (j % 4) + j / 4 for byte j (flat), 16 * (j % 2) + j / 2 for the
// first 32 bytes (rows of stride 2), and the same for the int32 halves.
template <typename T, int N, typename F>
constexpr std::array<T, N> index_table(F f) {
  std::array<T, N> a{};
  for (int j = 0; j < N; ++j) a[static_cast<size_t>(j)] = static_cast<T>(f(j));
  return a;
}
alignas(64) constexpr std::array<uint8_t, 64> kFlatOrder =
    index_table<uint8_t, 64>([](int j) { return 16 * (j % 4) + j / 4; });
alignas(64) constexpr std::array<uint8_t, 64> kRows2Order =
    index_table<uint8_t, 64>([](int j) { return j < 32 ? 16 * (j % 2) + j / 2 : 0; });
alignas(64) constexpr std::array<int32_t, 16> kRows2Lo =
    index_table<int32_t, 16>([](int j) { return 16 * (j % 2) + j / 2; });
alignas(64) constexpr std::array<int32_t, 16> kRows2Hi =
    index_table<int32_t, 16>([](int j) { return 16 * (j % 2) + 8 + j / 2; });
// Byte i of a vector of 16 words: its word i / 4 and its byte i % 4.
alignas(64) constexpr std::array<uint8_t, 64> kLaneOfByte =
    index_table<uint8_t, 64>([](int j) { return j / 4; });
alignas(64) constexpr std::array<uint8_t, 64> kTapOfByte =
    index_table<uint8_t, 64>([](int j) { return j % 4; });
// Bytes 0 .. 63, and the even bytes of two vectors (max_pool_u8_regs).
alignas(64) constexpr std::array<uint8_t, 64> kIota =
    index_table<uint8_t, 64>([](int j) { return j; });
alignas(64) constexpr std::array<uint8_t, 64> kEven =
    index_table<uint8_t, 64>([](int j) { return 2 * j; });

// The value of sums `acc` of a plane (of bytes + 128: `comp` subtracted)
// through the chain's pattern (null: the sums), `add` (the bias) added
// first; y: the residual's operand (a kRequant's multiplier is `mul`).
struct DepthwiseValue {
  DepthwiseValue(const Chain* ch, int32_t add, int32_t mul, int32_t comp)
      : on(ch != nullptr), pattern(ch ? ch->pattern : Pattern::kStore),
        pa(ch ? *ch : Chain()), vadd(ch ? add : 0), vmul(ch ? mul : 0),
        vcomp(_mm512_set1_epi32(comp)) {}
  VecI operator()(__m512i acc, VecI y) const {
    VecI v = VecI(_mm512_sub_epi32(acc, vcomp));
    if (!on) return v;
    v = v + vadd;
    switch (pattern) {
      case Pattern::kClamp: return pattern_value<Pattern::kClamp>(pa, v, y);
      case Pattern::kShiftClamp: return pattern_value<Pattern::kShiftClamp>(pa, v, y);
      case Pattern::kResidual: return pattern_value<Pattern::kResidual>(pa, v, y);
      case Pattern::kRequant: return pattern_value<Pattern::kRequant>(pa, v, vmul);
      default: return v;  // kStore
    }
  }
  bool on;
  Pattern pattern;
  PatternArgs pa;
  VecI vadd, vmul;
  __m512i vcomp;
};

// The sums of the block of 64 positions from p (filter row i's bytes
// i * row_step further): a[j] lane k is position 4k + j.
inline void flat_block_sums(const uint8_t* p, const uint32_t* wpack, int64_t fh, int64_t chunks,
                            int64_t row_step, __m512i a[4]) {
  a[0] = a[1] = a[2] = a[3] = _mm512_setzero_si512();
  for (int64_t i = 0; i < fh; ++i) {
    for (int64_t c = 0; c < chunks; ++c) {
      const uint8_t* q = p + i * row_step + 4 * c;
      const __m512i wv = _mm512_set1_epi32(static_cast<int32_t>(wpack[i * chunks + c]));
      a[0] = _mm512_dpbusd_epi32(a[0], _mm512_loadu_si512(q), wv);
      a[1] = _mm512_dpbusd_epi32(a[1], _mm512_loadu_si512(q + 1), wv);
      a[2] = _mm512_dpbusd_epi32(a[2], _mm512_loadu_si512(q + 2), wv);
      a[3] = _mm512_dpbusd_epi32(a[3], _mm512_loadu_si512(q + 3), wv);
    }
  }
}

// The values v[j] of a block (lane k: position 4k + j) as 64 bytes in
// position order (`interleave`: kFlatOrder).
__attribute__((target("avx512vbmi"))) inline __m512i flat_block_bytes(const __m512i v[4],
                                                                      __m512i interleave) {
  __m512i z = _mm512_castsi128_si512(_mm512_cvtepi32_epi8(v[0]));
  z = _mm512_inserti32x4(z, _mm512_cvtepi32_epi8(v[1]), 1);
  z = _mm512_inserti32x4(z, _mm512_cvtepi32_epi8(v[2]), 2);
  z = _mm512_inserti32x4(z, _mm512_cvtepi32_epi8(v[3]), 3);
  return _mm512_permutexvar_epi8(interleave, z);
}

// depthwise_u8 for strides 1 without column dilation (DepthwiseBytes::flat):
// output pixel (r, q) is flat position f = r * stride + q of the byte
// plane, its filter row i the four bytes from f + i * dh * stride (per
// chunk). Four loads one byte apart give, in lane k, the words of
// positions 4k, 4k + 1, 4k + 2, 4k + 3 of a block of 64: no byte shuffle
// per product, one per block to put the pixels back in order. Positions
// whose column is ow or more are computed and dropped.
template <typename Value>
__attribute__((target("avx512vbmi"))) void depthwise_u8_flat(
    const uint8_t* bytes, const uint32_t* wpack, int64_t fh, int64_t chunks, int64_t dh,
    int64_t stride, int64_t oh, int64_t ow, int8_t* dst8, int32_t* dst, const Value& value) {
  const __m512i interleave = _mm512_load_si512(kFlatOrder.data());
  const int64_t end = (oh - 1) * stride + ow;
  for (int64_t f0 = 0; f0 < end; f0 += 64) {
    __m512i a[4];
    flat_block_sums(bytes + f0, wpack, fh, chunks, dh * stride, a);
    const VecI y(0);
    const __m512i v[4] = {value(a[0], y), value(a[1], y), value(a[2], y), value(a[3], y)};
    // The rows this block reaches; each row's pixels stored with a mask.
    const int64_t r0 = f0 / stride, r1 = std::min(oh - 1, (f0 + 63) / stride);
    if (dst8) {
      const __m512i z = flat_block_bytes(v, interleave);
      for (int64_t r = r0; r <= r1; ++r) {
        const int64_t lo = std::max(f0, r * stride), hi = std::min(f0 + 64, r * stride + ow);
        if (lo >= hi) continue;
        const __mmask64 m = (hi - f0 >= 64 ? ~__mmask64{0} : (__mmask64{1} << (hi - f0)) - 1u) &
                            ~((__mmask64{1} << (lo - f0)) - 1u);
        _mm512_mask_storeu_epi8(offset_ptr(dst8, r * ow - r * stride + f0), m, z);
      }
      continue;
    }
    // Back in order: u_m holds positions 16m .. 16m + 15 of the block.
    const __m512i t0 = _mm512_unpacklo_epi32(v[0], v[1]), t1 = _mm512_unpackhi_epi32(v[0], v[1]);
    const __m512i t2 = _mm512_unpacklo_epi32(v[2], v[3]), t3 = _mm512_unpackhi_epi32(v[2], v[3]);
    const __m512i s0 = _mm512_unpacklo_epi64(t0, t2), s1 = _mm512_unpackhi_epi64(t0, t2);
    const __m512i s2 = _mm512_unpacklo_epi64(t1, t3), s3 = _mm512_unpackhi_epi64(t1, t3);
    const __m512i e01 = _mm512_shuffle_i32x4(s0, s1, _MM_SHUFFLE(2, 0, 2, 0));
    const __m512i e23 = _mm512_shuffle_i32x4(s2, s3, _MM_SHUFFLE(2, 0, 2, 0));
    const __m512i o01 = _mm512_shuffle_i32x4(s0, s1, _MM_SHUFFLE(3, 1, 3, 1));
    const __m512i o23 = _mm512_shuffle_i32x4(s2, s3, _MM_SHUFFLE(3, 1, 3, 1));
    const __m512i u[4] = {_mm512_shuffle_i32x4(e01, e23, _MM_SHUFFLE(2, 0, 2, 0)),
                          _mm512_shuffle_i32x4(o01, o23, _MM_SHUFFLE(2, 0, 2, 0)),
                          _mm512_shuffle_i32x4(e01, e23, _MM_SHUFFLE(3, 1, 3, 1)),
                          _mm512_shuffle_i32x4(o01, o23, _MM_SHUFFLE(3, 1, 3, 1))};
    for (int64_t r = r0; r <= r1; ++r) {
      const int64_t lo = std::max(f0, r * stride), hi = std::min(f0 + 64, r * stride + ow);
      for (int m = 0; m < 4; ++m) {
        const int64_t a = std::max(lo - f0 - 16 * m, int64_t{0});
        const int64_t b = std::min(hi - f0 - 16 * m, int64_t{16});
        if (a >= b) continue;
        const __mmask16 mask = static_cast<__mmask16>(((1u << b) - 1u) & ~((1u << a) - 1u));
        _mm512_mask_storeu_epi32(offset_ptr(dst, r * ow - r * stride + f0 + 16 * m), mask, u[m]);
      }
    }
  }
}

// depthwise_u8 for stride 2 without column dilation, rows of 32 pixels: two
// loads two bytes apart give, in lane k, the words of pixels 2k and 2k + 1.
template <typename Value>
__attribute__((target("avx512vbmi"))) void depthwise_u8_rows2(
    const uint8_t* bytes, const uint32_t* wpack, int64_t fh, int64_t chunks, int64_t sh,
    int64_t dh, int64_t stride, int64_t oh, int64_t ow, int8_t* dst8, int32_t* dst,
    const Value& value) {
  const __m512i interleave = _mm512_load_si512(kRows2Order.data());
  const __m512i lo_order = _mm512_load_si512(kRows2Lo.data());
  const __m512i hi_order = _mm512_load_si512(kRows2Hi.data());
  for (int64_t r = 0; r < oh; ++r) {
    const uint8_t* row = bytes + r * sh * stride;
    for (int64_t q0 = 0; q0 < ow; q0 += 32) {
      __m512i a0 = _mm512_setzero_si512(), a1 = a0;
      for (int64_t i = 0; i < fh; ++i) {
        for (int64_t c = 0; c < chunks; ++c) {
          const uint8_t* p = row + i * dh * stride + 2 * q0 + 4 * c;
          const __m512i wv = _mm512_set1_epi32(static_cast<int32_t>(wpack[i * chunks + c]));
          a0 = _mm512_dpbusd_epi32(a0, _mm512_loadu_si512(p), wv);
          a1 = _mm512_dpbusd_epi32(a1, _mm512_loadu_si512(p + 2), wv);
        }
      }
      const VecI y(0);
      const __m512i v0 = value(a0, y), v1 = value(a1, y);
      const int64_t n = std::min<int64_t>(32, ow - q0);
      if (dst8) {
        __m512i z = _mm512_castsi128_si512(_mm512_cvtepi32_epi8(v0));
        z = _mm512_inserti32x4(z, _mm512_cvtepi32_epi8(v1), 1);
        const __mmask64 m = (__mmask64{1} << n) - 1u;
        _mm512_mask_storeu_epi8(dst8 + r * ow + q0, m, _mm512_permutexvar_epi8(interleave, z));
        continue;
      }
      int32_t* o = dst + r * ow + q0;
      const __mmask16 m0 = static_cast<__mmask16>(n >= 16 ? 0xFFFFu : (1u << n) - 1u);
      _mm512_mask_storeu_epi32(o, m0, _mm512_permutex2var_epi32(v0, lo_order, v1));
      if (n > 16) {
        const __mmask16 m1 = static_cast<__mmask16>(n >= 32 ? 0xFFFFu : (1u << (n - 16)) - 1u);
        _mm512_mask_storeu_epi32(o + 16, m1, _mm512_permutex2var_epi32(v0, hi_order, v1));
      }
    }
  }
}

// See Table::depthwise_u8. Compiled for VBMI (vpermb) on top of the file's
// ISA; called only when the CPU has it.
__attribute__((target("avx512vbmi"))) bool depthwise_u8(
    const int32_t* x, const int8_t* x8, int64_t h, int64_t w, const uint32_t* wpack,
    int32_t comp, int64_t fh, int64_t fw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
    int64_t dh, int64_t dw, int64_t oh, int64_t ow, int32_t* out, uint8_t* bytes,
    const PlaneEpilogue* epi) {
  const DepthwiseBytes d = depthwise_bytes(fh, fw, sh, sw, dh, dw, oh, ow);
  if (!d.ok) return false;
  // The padded plane as bytes: 128 (zero) everywhere, then the plane's rows
  // as x + 128; lo and hi track the values seen. (Vector stores: a plane of
  // 14 x 14 is mostly edges, where small memsets cost more than the rest.)
  const __m512i flip = _mm512_set1_epi32(0x80);
  const __m512i zero8 = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int64_t i = 0; i < d.size(); i += 64) _mm512_storeu_si512(bytes + i, zero8);
  __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
  const int64_t left = std::min(pw, d.stride);
  const int64_t cols = std::max<int64_t>(0, std::min(w, d.stride - left));
  const int64_t r_end = std::min(h, d.rows - ph);
  for (int64_t r = 0; r < r_end && cols > 0; ++r) {
    uint8_t* dst = bytes + (r + ph) * d.stride + left;
    if (x8) {
      // int8 already: no check.
      const int8_t* src8 = x8 + r * w;
      for (int64_t c = 0; c < cols; c += 64) {
        const __mmask64 m = cols - c >= 64 ? ~__mmask64{0} : (__mmask64{1} << (cols - c)) - 1u;
        const __m512i v = _mm512_maskz_loadu_epi8(m, src8 + c);
        _mm512_mask_storeu_epi8(dst + c, m, _mm512_xor_si512(v, zero8));
      }
      continue;
    }
    const int32_t* src = x + r * w;
    for (int64_t c = 0; c < cols; c += 16) {
      const __mmask16 m =
          static_cast<__mmask16>(cols - c >= 16 ? 0xFFFFu : (1u << (cols - c)) - 1u);
      const __m512i v = _mm512_maskz_loadu_epi32(m, src + c);
      lo = _mm512_min_epi32(lo, v);
      hi = _mm512_max_epi32(hi, v);
      _mm512_mask_cvtepi32_storeu_epi8(dst + c, m, _mm512_xor_si512(v, flip));
    }
  }
  if (_mm512_reduce_min_epi32(lo) < -128 || _mm512_reduce_max_epi32(hi) > 127) return false;

  // Byte t of lane j's word: column j * sw + t * dw from the vector's start,
  // computed on 16-bit halves: j * sw + t * dw < 64 (depthwise_bytes), so no
  // product or sum carries into the next byte.
  const __m512i lane = _mm512_load_si512(kLaneOfByte.data());
  const __m512i tap = _mm512_load_si512(kTapOfByte.data());
  const __m512i idx =
      _mm512_add_epi16(_mm512_mullo_epi16(lane, _mm512_set1_epi16(static_cast<short>(sw))),
                       _mm512_mullo_epi16(tap, _mm512_set1_epi16(static_cast<short>(dw))));
  // Stores the sums `acc` of output pixels at..at + 15 (lanes of m): raw, or
  // through the chain's pattern.
  const Chain* ch = epi && epi->chain->pattern != Pattern::kGeneric ? epi->chain : nullptr;
  int8_t* dst8 = ch && ch->final_bytes ? ch->final_bytes + epi->flat0 : nullptr;
  int32_t* dst = dst8 ? nullptr : ch ? ch->final_write + epi->flat0 : out;
  const bool residual = ch && ch->pattern == Pattern::kResidual;
  const int8_t* operand8 = residual && ch->operand_bytes ? ch->operand_bytes + epi->flat0 : nullptr;
  const int32_t* operand = residual && !operand8 ? ch->operand + epi->flat0 : nullptr;
  const DepthwiseValue value(ch, epi ? epi->add : 0, epi ? epi->mul : 0, comp);
  auto emit = [&](__m512i acc, int64_t at, __mmask16 m) {
    VecI y(0);
    if (residual) {
      y = VecI(operand8 ? _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, operand8 + at))
                        : _mm512_maskz_loadu_epi32(m, operand + at));
    }
    const VecI v = value(acc, y);
    if (dst8) {
      _mm512_mask_cvtepi32_storeu_epi8(dst8 + at, m, v);
    } else {
      _mm512_mask_storeu_epi32(dst + at, m, v);
    }
  };
  const int64_t chunks = d.chunks;
  if (d.flat && !residual) {
    depthwise_u8_flat(bytes, wpack, fh, chunks, dh, d.stride, oh, ow, dst8, dst, value);
    return true;
  }
  if (sw == 2 && dw == 1 && ow >= 24 && !residual) {
    depthwise_u8_rows2(bytes, wpack, fh, chunks, sh, dh, d.stride, oh, ow, dst8, dst, value);
    return true;
  }
  // Four vectors of 16 output pixels at a time (independent sums), taken
  // from the (row, column block) list; the last one repeats when fewer.
  const int64_t vecs = (ow + 15) / 16;
  const int64_t items = oh * vecs;
  for (int64_t it = 0; it < items; it += 4) {
    const uint8_t* base[4];
    int64_t at[4];
    __mmask16 mask[4];
    const int nv = static_cast<int>(std::min<int64_t>(4, items - it));
    for (int v = 0; v < 4; ++v) {
      const int64_t item = it + std::min(v, nv - 1);
      const int64_t r = item / vecs, q0 = item % vecs * 16;
      base[v] = bytes + r * sh * d.stride + q0 * sw;
      at[v] = r * ow + q0;
      mask[v] = static_cast<__mmask16>(ow - q0 >= 16 ? 0xFFFFu : (1u << (ow - q0)) - 1u);
    }
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t i = 0; i < fh; ++i) {
      for (int64_t c = 0; c < chunks; ++c) {
        const int64_t off = i * dh * d.stride + 4 * c * dw;
        const __m512i wv = _mm512_set1_epi32(static_cast<int32_t>(wpack[i * chunks + c]));
        a0 = _mm512_dpbusd_epi32(a0, _mm512_permutexvar_epi8(idx, _mm512_loadu_si512(base[0] + off)), wv);
        a1 = _mm512_dpbusd_epi32(a1, _mm512_permutexvar_epi8(idx, _mm512_loadu_si512(base[1] + off)), wv);
        a2 = _mm512_dpbusd_epi32(a2, _mm512_permutexvar_epi8(idx, _mm512_loadu_si512(base[2] + off)), wv);
        a3 = _mm512_dpbusd_epi32(a3, _mm512_permutexvar_epi8(idx, _mm512_loadu_si512(base[3] + off)), wv);
      }
    }
    const __m512i acc[4] = {a0, a1, a2, a3};
    for (int v = 0; v < nv; ++v) emit(acc[v], at[v], mask[v]);
  }
  return true;
}

// See Table::depthwise_u8_stacked and StackedPlanes.
__attribute__((target("avx512vbmi,avx512vbmi2"))) void depthwise_u8_stacked(
    const int8_t* x8, int64_t planes, const StackedPlanes& s, const uint32_t* wpack, int32_t comp,
    uint8_t* bytes, const PlaneEpilogue& epi) {
  const int64_t used = (s.ph + planes * s.period) * s.stride;
  const int64_t positions = planes * s.period * s.stride;
  const int64_t reads = (positions + 63) / 64 * 64 + (s.fh - 1) * s.stride + 4 * s.chunks + 64;
  const int64_t size = std::min(s.bytes, (std::max(used, reads) + 63) / 64 * 64);
  // The stacked plane, 64 bytes at a time: as many values as the block
  // holds, loaded in order and spread to their bytes (vpexpandb), + 128
  // (the padding: 128).
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  const int8_t* src = x8;
  for (int64_t b = 0; b < size; b += 64) {
    __mmask64 m = 0;
    if (b < used) {
      m = s.in_mask[static_cast<size_t>(b / 64)];
      if (used - b < 64) m &= (__mmask64{1} << (used - b)) - 1u;
    }
    const int n = __builtin_popcountll(m);
    const __mmask64 first = n == 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1u;
    const __m512i v = _mm512_maskz_expand_epi8(m, _mm512_maskz_loadu_epi8(first, src));
    _mm512_storeu_si512(bytes + b, _mm512_xor_si512(v, flip));
    src += n;
  }
  // Each block of 64 positions: the output pixels among them kept in order
  // (vpcompressb) and stored after the last block's.
  const Chain* ch = epi.chain;
  int8_t* dst = ch->final_bytes + epi.flat0;
  const DepthwiseValue value(ch, epi.add, epi.mul, comp);
  const __m512i interleave = _mm512_load_si512(kFlatOrder.data());
  for (int64_t f0 = 0; f0 < positions; f0 += 64) {
    __mmask64 m = s.out_mask[static_cast<size_t>(f0 / 64)];
    if (positions - f0 < 64) m &= (__mmask64{1} << (positions - f0)) - 1u;
    if (m == 0) continue;  // padding rows only
    __m512i a[4];
    flat_block_sums(bytes + f0, wpack, s.fh, s.chunks, s.stride, a);
    const VecI y(0);
    const __m512i v[4] = {value(a[0], y), value(a[1], y), value(a[2], y), value(a[3], y)};
    const __m512i z = _mm512_maskz_compress_epi8(m, flat_block_bytes(v, interleave));
    const int n = __builtin_popcountll(m);
    _mm512_mask_storeu_epi8(dst, n == 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1u, z);
    dst += n;
  }
}
#endif

