// max_pool2d on int8 activations (AVX-512 VBMI, Table::max_pool_u8).
// A part of kernels/simd_impl.h, included there inside the ISA's namespace.

#if defined(__AVX512F__)
// max_pool_u8 for column strides 1 and 2 and windows up to 64 wide, all in
// registers: per block of 64 padded columns, the maximum over the window's
// rows (-128 outside the plane, as below); the window maxima from each block
// and the next one (vpermt2b by k bytes); for stride 2 every other start of
// two blocks (vpermt2b). (Storing the column maxima and loading them again
// at byte offsets, as below, stalls on the stores.)
// Window maxima (pw wide) of the starts [c0, c0 + 64) from the column
// maxima of [c0, c0 + 128) in cur and next.
__attribute__((target("avx512vbmi"))) inline __m512i window_max_u8(__m512i cur, __m512i next,
                                                                   __m512i iota, int64_t pw) {
  __m512i v = cur;
  for (int64_t k = 1; k < pw; ++k) {
    const __m512i idx = _mm512_add_epi8(iota, _mm512_set1_epi8(static_cast<char>(k)));
    v = _mm512_max_epi8(v, _mm512_permutex2var_epi8(cur, idx, next));
  }
  return v;
}

__attribute__((target("avx512vbmi"))) void max_pool_u8_regs(
    const int8_t* x, int64_t h, int64_t w, int64_t ph, int64_t pw, int64_t sh, int64_t sw,
    int64_t top, int64_t left, int64_t oh, int64_t ow, int8_t* out) {
  const __m512i lowest = _mm512_set1_epi8(-128);
  const __m512i iota = _mm512_load_si512(kIota.data());
  const __m512i even = _mm512_load_si512(kEven.data());
  const int64_t used = (ow - 1) * sw + pw;  // padded columns the windows reach
  for (int64_t r = 0; r < oh; ++r) {
    const int64_t i0 = std::max<int64_t>(r * sh - top, 0);
    const int64_t i1 = std::min(r * sh - top + ph, h);
    // Column maxima of padded columns [c0, c0 + 64).
    auto column_max = [&](int64_t c0) {
      const int64_t x0 = c0 - left;  // the input column of byte 0
      const int64_t lo = std::max<int64_t>(0, -x0), hi = std::min<int64_t>(64, w - x0);
      if (c0 >= used || lo >= hi) return lowest;
      const __mmask64 m = (hi >= 64 ? ~__mmask64{0} : (__mmask64{1} << hi) - 1u) &
                          ~((__mmask64{1} << lo) - 1u);
      __m512i v = lowest;
      for (int64_t i = i0; i < i1; ++i) {
        v = _mm512_max_epi8(v, _mm512_mask_loadu_epi8(lowest, m, offset_ptr(x + i * w, x0)));
      }
      return v;
    };
    int8_t* o = out + r * ow;
    __m512i cur = column_max(0);
    for (int64_t q0 = 0; q0 < ow; q0 += 64) {
      const int64_t n = std::min<int64_t>(64, ow - q0);
      const __mmask64 m = n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1u;
      const int64_t c0 = q0 * sw;
      const __m512i next = column_max(c0 + 64);
      if (sw == 1) {
        _mm512_mask_storeu_epi8(o + q0, m, window_max_u8(cur, next, iota, pw));
        cur = next;
        continue;
      }
      const __m512i after = column_max(c0 + 128);
      // Every other window start of the two blocks.
      const __m512i v = _mm512_permutex2var_epi8(window_max_u8(cur, next, iota, pw), even,
                                                 window_max_u8(next, after, iota, pw));
      _mm512_mask_storeu_epi8(o + q0, m, v);
      cur = after;
    }
  }
}

// See Table::max_pool_u8: each output row is the column maxima of its input
// rows (a padded row, -128 outside the plane: every window holds a value of
// the plane, which is at least -128), then the maxima of each window of pw
// columns, then every sw-th of those (vpermb).
__attribute__((target("avx512vbmi"))) void max_pool_u8(
    const int8_t* x, int64_t h, int64_t w, int64_t ph, int64_t pw, int64_t sh, int64_t sw,
    int64_t top, int64_t left, int64_t oh, int64_t ow, int8_t* out, int8_t* scratch) {
  if ((sw == 1 || sw == 2) && pw <= 64) {
    max_pool_u8_regs(x, h, w, ph, pw, sh, sw, top, left, oh, ow, out);
    return;
  }
  const int64_t width = max_pool_u8_scratch(w, pw, sw, ow, left) / 2;  // 128 bytes of slack
  int8_t* row = scratch;
  int8_t* win = scratch + width;
  const int64_t cols = (ow - 1) * sw + 1;  // window starts used
  const int64_t per = 64 / sw;              // outputs per 64 window starts
  alignas(64) uint8_t order[64];
  for (int j = 0; j < 64; ++j) order[j] = static_cast<uint8_t>(j < per ? j * sw : 0);
  const __m512i idx = _mm512_load_si512(order);
  std::memset(row, -128, static_cast<size_t>(width));
  for (int64_t r = 0; r < oh; ++r) {
    const int64_t i0 = std::max<int64_t>(r * sh - top, 0);
    const int64_t i1 = std::min(r * sh - top + ph, h);
    for (int64_t c = 0; c < w; c += 64) {
      const __mmask64 m = w - c >= 64 ? ~__mmask64{0} : (__mmask64{1} << (w - c)) - 1u;
      __m512i v = _mm512_set1_epi8(-128);
      for (int64_t i = i0; i < i1; ++i) {
        v = _mm512_max_epi8(v, _mm512_maskz_loadu_epi8(m, x + i * w + c));
      }
      _mm512_mask_storeu_epi8(row + left + c, m, v);
    }
    for (int64_t j = 0; j < cols; j += 64) {
      __m512i v = _mm512_loadu_si512(row + j);
      for (int64_t k = 1; k < pw; ++k) v = _mm512_max_epi8(v, _mm512_loadu_si512(row + j + k));
      _mm512_storeu_si512(win + j, v);
    }
    int8_t* o = out + r * ow;
    for (int64_t q = 0; q < ow; q += per) {
      const int64_t n = std::min(per, ow - q);
      const __mmask64 m = n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1u;
      const __m512i v = _mm512_loadu_si512(win + q * sw);
      _mm512_mask_storeu_epi8(o + q, m, sw == 1 ? v : _mm512_permutexvar_epi8(idx, v));
    }
  }
}

// max_pool2d 3 x 3, strides 1, padding 1 (the output the plane's size) of
// one int8 plane (Table::max_pool3_u8), flat: 64 pixels a vector whatever
// the rows, each of the nine taps one masked load at its offset from the
// input (nothing stored is read again), the taps outside the plane left out
// by the masks of max_pool3_masks(). For the many small planes of
// GoogLeNet's blocks (14 x 14: 4 vectors, where a row at a time took 14).
void max_pool3_u8(const int8_t* x, int64_t plane, int64_t w, const uint64_t* masks,
                  int8_t* out) {
  const int64_t offsets[8] = {-w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1};
  for (int64_t i = 0; i < plane; i += 64, masks += 9) {
    const __mmask64 valid = masks[0];
    __m512i v = _mm512_maskz_loadu_epi8(valid, x + i);
#pragma GCC unroll 8
    for (int t = 0; t < 8; ++t) {
      const __mmask64 m = masks[1 + t];
      // Lanes whose tap lies outside the plane load nothing (masked loads
      // do not fault) and keep their value; the address is formed without
      // pointer arithmetic, as it may lie before the plane.
      const int8_t* at = reinterpret_cast<const int8_t*>(reinterpret_cast<uintptr_t>(x + i) +
                                                         static_cast<uintptr_t>(offsets[t]));
      v = _mm512_mask_max_epi8(v, m, v, _mm512_maskz_loadu_epi8(m, at));
    }
    _mm512_mask_storeu_epi8(out + i, valid, v);
  }
}
#endif
