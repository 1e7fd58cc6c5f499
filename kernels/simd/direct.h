// Depthwise and max pooling straight from an int32 plane, without the phase
// layout (Table::depthwise_direct; max_pool for some geometries).

// A part of kernels/simd_impl.h, included there inside the ISA's namespace.
// Lanes j of a vector whose column c0 + j lies in [0, w) and whose output
// q0 + j lies in [0, ow).
inline int64_t valid_lanes_lo(int64_t c0) { return c0 < 0 ? -c0 : 0; }
inline int64_t ceil_div_nonneg(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The masked load of x[c0 .. c0 + kLanes) (lanes outside [lo, hi) zero);
// no lane outside the plane row is touched.
inline VecI load_lanes(const int32_t* row, int64_t c0, int64_t lo, int64_t hi) {
  if (lo >= hi) return VecI(0);
  const int32_t* p = reinterpret_cast<const int32_t*>(reinterpret_cast<uintptr_t>(row) +
                                                      static_cast<uintptr_t>(c0) * 4u);
#if defined(__AVX512F__)
  const uint32_t m = ((hi >= 32 ? 0xFFFFFFFFu : ((1u << hi) - 1u)) & ~((1u << lo) - 1u)) & 0xFFFFu;
  return VecI(_mm512_maskz_loadu_epi32(static_cast<__mmask16>(m), p));
#else
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i mask = _mm256_and_si256(
      _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(hi)), idx),
      _mm256_cmpgt_epi32(idx, _mm256_set1_epi32(static_cast<int>(lo) - 1)));
  return VecI(_mm256_maskload_epi32(p, mask));
#endif
}

#if defined(__AVX512F__)
// x[c0 + j] for lanes j in [lo, hi), INT32_MIN elsewhere; nothing outside
// the row is touched.
inline __m512i load_lanes_min(const int32_t* row, int64_t c0, int64_t lo, int64_t hi) {
  const __m512i fill = _mm512_set1_epi32(INT32_MIN);
  if (lo >= hi) return fill;
  const int32_t* p = reinterpret_cast<const int32_t*>(reinterpret_cast<uintptr_t>(row) +
                                                      static_cast<uintptr_t>(c0) * 4u);
  const uint32_t m = ((hi >= 32 ? 0xFFFFFFFFu : ((1u << hi) - 1u)) & ~((1u << lo) - 1u)) & 0xFFFFu;
  return _mm512_mask_loadu_epi32(fill, static_cast<__mmask16>(m), p);
}

// max_pool2d of a plane straight from it, for strides 1 and 2: only
// positions inside the plane count (each window holds at least one). Per
// output row, the maximum over the window's rows first (into `row`,
// INT32_MIN around it), then over the window's columns.
void max_pool_direct(const int32_t* x, int64_t h, int64_t w, int64_t ph, int64_t pw, int64_t sh,
                     int64_t sw, int64_t top, int64_t left, int64_t oh, int64_t ow,
                     int32_t* out, int32_t* row) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i lowest = _mm512_set1_epi32(INT32_MIN);
  // row[left + c] = max over the window's rows of column c; the columns a
  // window reaches outside [0, w) hold INT32_MIN.
  const int64_t span = (ow + 16) * sw + pw + 32;
  int32_t* v = row + left;
  std::fill_n(row, left, INT32_MIN);
  std::fill(row + left + w, row + span, INT32_MIN);
  for (int64_t r = 0; r < oh; ++r) {
    const int64_t t0 = r * sh - top;
    const int64_t r0 = t0 < 0 ? 0 : t0;
    const int64_t r1 = t0 + ph < h ? t0 + ph : h;
    for (int64_t c = 0; c < w; c += 16) {
      const __mmask16 m = static_cast<__mmask16>(w - c >= 16 ? 0xFFFFu : (1u << (w - c)) - 1u);
      __m512i best = _mm512_mask_loadu_epi32(lowest, m, x + r0 * w + c);
      for (int64_t i = r0 + 1; i < r1; ++i) {
        best = _mm512_max_epi32(best, _mm512_mask_loadu_epi32(lowest, m, x + i * w + c));
      }
      _mm512_mask_storeu_epi32(v + c, m, best);
    }
    int32_t* orow = out + r * ow;
    for (int64_t q0 = 0; q0 < ow; q0 += 16) {
      const int64_t n = ow - q0 < 16 ? ow - q0 : 16;
      __m512i best = lowest;
      for (int64_t k = 0; k < pw; ++k) {
        __m512i u;
        if (sw == 1) {
          u = _mm512_loadu_si512(row + q0 + k);
        } else {
          const int32_t* p = row + 2 * q0 + k;
          u = _mm512_permutex2var_epi32(_mm512_loadu_si512(p), even, _mm512_loadu_si512(p + 16));
        }
        best = _mm512_max_epi32(best, u);
      }
      _mm512_mask_storeu_epi32(orow + q0, static_cast<__mmask16>((1u << n) - 1u), best);
    }
  }
}
#endif

bool depthwise_direct(const int32_t* x, int64_t h, int64_t w, const int32_t* wt, int64_t fh,
                      int64_t fw, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh,
                      int64_t dw, int64_t oh, int64_t ow, int32_t* out) {
  // Only stride 2 (AVX-512): for stride 1 the flattened phase layout is
  // faster (no per-vector edge logic).
#if defined(__AVX512F__)
  if (!(sw == 2 && dw == 1)) return false;
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
#else
  return false;
#endif
  const int64_t taps = fh * fw;
  if (taps > 64) return false;
  VecI wv[64];
  for (int64_t t = 0; t < taps; ++t) wv[t] = VecI(wt[t]);
  // Vectors whose every tap reads inside the row: q0 in [q_lo, q_hi].
  const int64_t span = sw == 1 ? (fw - 1) * dw + kLanes : 2 * kLanes + fw - 1;
  const int64_t q_lo = ceil_div_nonneg(pw, sw);
  const int64_t q_hi = (w - span + pw) >= 0 ? (w - span + pw) / sw : -1;
  for (int64_t r = 0; r < oh; ++r) {
    int32_t* orow = out + r * ow;
    int64_t i0 = 0, i1 = fh;  // the filter rows inside the plane
    while (i0 < fh && r * sh - ph + i0 * dh < 0) ++i0;
    while (i1 > i0 && r * sh - ph + (i1 - 1) * dh >= h) --i1;
    for (int64_t q0 = 0; q0 < ow; q0 += kLanes) {
      const int64_t n = ow - q0 < kLanes ? ow - q0 : kLanes;
      VecI acc(0);
      const bool interior = n == kLanes && q0 >= q_lo && q0 <= q_hi;
      for (int64_t i = i0; i < i1; ++i) {
        const int32_t* xr = x + (r * sh - ph + i * dh) * w;
        const VecI* wr = wv + i * fw;
        if (interior && sw == 1) {
          const int32_t* p = xr + q0 - pw;
          for (int64_t k = 0; k < fw; ++k) acc = acc + VecI::load_unaligned(p + k * dw) * wr[k];
          continue;
        }
        for (int64_t k = 0; k < fw; ++k) {
          VecI v;
          if (sw == 1) {
            const int64_t c0 = q0 - pw + k * dw;
            v = load_lanes(xr, c0, valid_lanes_lo(c0), std::min<int64_t>(n, w - c0));
          } else {
#if defined(__AVX512F__)
            // Input columns c0 + 2j: the even lanes of 32 from c0.
            const int64_t c0 = 2 * q0 - pw + k;
            VecI a, b;
            if (interior) {
              a = VecI::load_unaligned(xr + c0);
              b = VecI::load_unaligned(xr + c0 + 16);
            } else {
              a = load_lanes(xr, c0, valid_lanes_lo(c0), std::min<int64_t>(16, w - c0));
              b = load_lanes(xr, c0 + 16, valid_lanes_lo(c0 + 16), std::min<int64_t>(16, w - c0 - 16));
            }
            v = VecI(_mm512_permutex2var_epi32(a, even, b));
#endif
          }
          acc = acc + v * wr[k];
        }
      }
      if (n == kLanes) {
        acc.store_unaligned(orow + q0);
      } else {
        store_n(orow + q0, acc, n);
      }
    }
  }
  return true;
}

