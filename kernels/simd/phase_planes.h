// Depthwise products and max pooling over the stride-phase layout of a
// plane (Table::depthwise, split_phases, max_pool).

// A part of kernels/simd_impl.h, included there inside the ISA's namespace.
void depthwise(const int32_t* x, const int64_t* toff, const int32_t* w, int taps, int64_t count,
               int32_t* out) {
  int64_t p = 0;
  for (; p + 2 * kLanes <= count; p += 2 * kLanes) {
    VecI a0(0), a1(0);
    for (int t = 0; t < taps; ++t) {
      const VecI wt(w[t]);
      const int32_t* src = x + toff[t] + p;
      a0 = a0 + VecI::load_unaligned(src) * wt;
      a1 = a1 + VecI::load_unaligned(src + kLanes) * wt;
    }
    a0.store_unaligned(out + p);
    a1.store_unaligned(out + p + kLanes);
  }
  for (; p < count; p += kLanes) {
    // The last vector may reach past `count`: computed into a local copy.
    VecI a0(0);
    for (int t = 0; t < taps; ++t) a0 = a0 + VecI::load_unaligned(x + toff[t] + p) * VecI(w[t]);
    alignas(64) int32_t tmp[kLanes];
    a0.store_aligned(tmp);
    const int64_t n = count - p < kLanes ? count - p : kLanes;
    for (int64_t i = 0; i < n; ++i) out[p + i] = tmp[i];
  }
}

void split_phases(const int32_t* src, int64_t count, int64_t s, int32_t* dst,
                  int64_t phase_stride) {
  int64_t k = 0;
#if defined(__AVX512F__)
  if (s == 2) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (; (k + 16) * 2 <= count; k += 16) {
      const __m512i a = _mm512_loadu_si512(src + 2 * k);
      const __m512i b = _mm512_loadu_si512(src + 2 * k + 16);
      _mm512_storeu_si512(dst + k, _mm512_permutex2var_epi32(a, even, b));
      _mm512_storeu_si512(dst + phase_stride + k, _mm512_permutex2var_epi32(a, odd, b));
    }
  }
#endif
  for (int64_t r = 0; r < s; ++r) {
    int32_t* d = dst + r * phase_stride;
    for (int64_t i = k * s + r, j = k; i < count; i += s, ++j) d[j] = src[i];
  }
}

#if defined(__AVX512F__)
void max_pool_direct(const int32_t*, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                     int64_t, int64_t, int64_t, int64_t, int32_t*, int32_t*);
#endif

void max_pool(const int32_t* x, int64_t h, int64_t w, int64_t ph, int64_t pw, int64_t sh,
              int64_t sw, int64_t top, int64_t left, int64_t oh, int64_t ow, int32_t* out,
              int32_t* scratch) {
#if defined(__AVX512F__)
  if (sw <= 2) {
    max_pool_direct(x, h, w, ph, pw, sh, sw, top, left, oh, ow, out, scratch);
    return;
  }
#endif
  // Row of vertical maxima, padded left and right with INT32_MIN, then its
  // columns split by phase.
  const int64_t len = (ow + 2 * kLanes) * sw + pw;  // padded row length used
  const int64_t phase_len = len / sw + kLanes;
  int32_t* row = scratch;
  int32_t* phases = scratch + len + w + kLanes;
  for (int64_t r = 0; r < oh; ++r) {
    const int64_t t0 = r * sh - top;
    const int64_t r0 = t0 < 0 ? 0 : t0;
    const int64_t r1 = t0 + ph < h ? t0 + ph : h;
    std::fill_n(row, left, INT32_MIN);
    int32_t* v = row + left;
    int64_t c = 0;
    for (; c + kLanes <= w; c += kLanes) {
      VecI m = VecI::load_unaligned(x + r0 * w + c);
      for (int64_t i = r0 + 1; i < r1; ++i) m = xsimd::max(m, VecI::load_unaligned(x + i * w + c));
      m.store_unaligned(v + c);
    }
    for (; c < w; ++c) {
      int32_t m = x[r0 * w + c];
      for (int64_t i = r0 + 1; i < r1; ++i) m = x[i * w + c] > m ? x[i * w + c] : m;
      v[c] = m;
    }
    const int64_t used = left + w;
    if (used < len) std::fill(row + used, row + len, INT32_MIN);
    const int32_t* src = row;
    int64_t stride = 1;
    if (sw > 1) {
      split_phases(row, len, sw, phases, phase_len);
      src = phases;
      stride = phase_len;
    }
    int32_t* o = out + r * ow;
    int64_t q = 0;
    for (; q + kLanes <= ow; q += kLanes) {
      VecI m(INT32_MIN);
      for (int64_t j = 0; j < pw; ++j) {
        m = xsimd::max(m, VecI::load_unaligned(src + (j % sw) * stride + q + j / sw));
      }
      m.store_unaligned(o + q);
    }
    for (; q < ow; ++q) {
      int32_t m = INT32_MIN;
      for (int64_t j = 0; j < pw; ++j) {
        const int32_t e = src[(j % sw) * stride + q + j / sw];
        m = e > m ? e : m;
      }
      o[q] = m;
    }
  }
}

