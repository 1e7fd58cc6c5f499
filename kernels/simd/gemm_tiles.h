// Data packing and the int8 product tiles of the implicit GEMM
// (Table::pack_words, pack_bytes, gemm): VNNI on AVX-512, vpmaddwd on AVX2.

// A part of kernels/simd_impl.h, included there inside the ISA's namespace.
#if defined(__AVX512F__)

constexpr int kGroup = 4;
constexpr int kMr = 8;
constexpr int kNr = 3;
constexpr uint32_t kPadWord = 0x80808080u;  // four int8 zeros, + 128 each

// Four channels' int8 values + 128, one byte each.
void pack_words(const int32_t* x, int64_t cs, int channels, int64_t count, uint32_t* out) {
  const __m512i bytes = _mm512_set1_epi32(0xFF);
  const __m512i flip = _mm512_set1_epi32(static_cast<int>(kPadWord));
  int64_t p = 0;
  for (; p + 16 <= count; p += 16) {
    __m512i word = _mm512_setzero_si512();
    for (int j = 0; j < channels; ++j) {
      __m512i v = _mm512_and_si512(_mm512_loadu_si512(x + j * cs + p), bytes);
      word = _mm512_or_si512(word, _mm512_slli_epi32(v, 8 * j));
    }
    _mm512_storeu_si512(out + p, _mm512_xor_si512(word, flip));
  }
  if (p < count) {
    const __mmask16 m = static_cast<__mmask16>((1u << (count - p)) - 1u);
    __m512i word = _mm512_setzero_si512();
    for (int j = 0; j < channels; ++j) {
      __m512i v = _mm512_and_si512(_mm512_maskz_loadu_epi32(m, x + j * cs + p), bytes);
      word = _mm512_or_si512(word, _mm512_slli_epi32(v, 8 * j));
    }
    _mm512_mask_storeu_epi32(out + p, m, _mm512_xor_si512(word, flip));
  }
}

// The same from int8 values (masked loads: nothing read past `count`).
constexpr int64_t kRowPrefetchBytes = 256;
void pack_bytes(const int8_t* x, int64_t cs, int channels, int64_t count, uint32_t* out) {
  const __m512i flip = _mm512_set1_epi32(static_cast<int>(kPadWord));
  int64_t p = 0;
  if (channels == 4) {
    // 64 pixels at a time: a cache line of each channel, interleaved by
    // byte and word unpacks (within 128-bit lanes), then the lanes put in
    // pixel order (a 4 x 4 transpose of 128-bit lanes).
    for (; p + 64 <= count; p += 64) {
      const __m512i a = _mm512_loadu_si512(x + p), b = _mm512_loadu_si512(x + cs + p);
      const __m512i c = _mm512_loadu_si512(x + 2 * cs + p), d = _mm512_loadu_si512(x + 3 * cs + p);
      const __m512i ab_lo = _mm512_unpacklo_epi8(a, b), ab_hi = _mm512_unpackhi_epi8(a, b);
      const __m512i cd_lo = _mm512_unpacklo_epi8(c, d), cd_hi = _mm512_unpackhi_epi8(c, d);
      // Lane L of w0..w3: pixels 16L + 0..3, 4..7, 8..11, 12..15.
      const __m512i w0 = _mm512_unpacklo_epi16(ab_lo, cd_lo), w1 = _mm512_unpackhi_epi16(ab_lo, cd_lo);
      const __m512i w2 = _mm512_unpacklo_epi16(ab_hi, cd_hi), w3 = _mm512_unpackhi_epi16(ab_hi, cd_hi);
      const __m512i t0 = _mm512_shuffle_i32x4(w0, w1, 0x44), t1 = _mm512_shuffle_i32x4(w2, w3, 0x44);
      const __m512i t2 = _mm512_shuffle_i32x4(w0, w1, 0xEE), t3 = _mm512_shuffle_i32x4(w2, w3, 0xEE);
      _mm512_storeu_si512(out + p, _mm512_xor_si512(_mm512_shuffle_i32x4(t0, t1, 0x88), flip));
      _mm512_storeu_si512(out + p + 16, _mm512_xor_si512(_mm512_shuffle_i32x4(t0, t1, 0xDD), flip));
      _mm512_storeu_si512(out + p + 32, _mm512_xor_si512(_mm512_shuffle_i32x4(t2, t3, 0x88), flip));
      _mm512_storeu_si512(out + p + 48, _mm512_xor_si512(_mm512_shuffle_i32x4(t2, t3, 0xDD), flip));
    }
  }
  if (count < 64) {
    // A row of a padded plane (the caller packs row after row, each
    // channel's rows one after another): ask for the rows a few calls ahead.
    // The hardware prefetcher follows these short runs poorly, and a row
    // another core wrote costs far more to wait for (with two threads, 70%
    // of this function's time was on these loads; 256 bytes ahead takes a
    // fifth off it; no effect on the values).
    for (int j = 0; j < channels; ++j) {
      _mm_prefetch(reinterpret_cast<const char*>(x + j * cs + kRowPrefetchBytes), _MM_HINT_T0);
    }
  }
  for (; p < count; p += 16) {
    const int64_t n = std::min<int64_t>(16, count - p);
    const __mmask16 m = static_cast<__mmask16>(n == 16 ? 0xFFFFu : (1u << n) - 1u);
    __m512i word = _mm512_setzero_si512();
    for (int j = 0; j < channels; ++j) {
      const __m512i v = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, x + j * cs + p));
      word = _mm512_or_si512(word, _mm512_slli_epi32(v, 8 * j));
    }
    _mm512_mask_storeu_epi32(out + p, m, _mm512_xor_si512(word, flip));
  }
}

template <int NV>
void gemm_tile(const uint32_t* a, const uint32_t* b, const int64_t* koff, int64_t kc, int32_t* c,
               int64_t ldc, bool accumulate, Prefetch ahead) {
  __m512i acc[kMr][NV];
#pragma GCC unroll 8
  for (int m = 0; m < kMr; ++m) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      acc[m][v] = accumulate ? _mm512_loadu_si512(c + m * ldc + v * 16) : _mm512_setzero_si512();
    }
  }
  for (int64_t k = 0; k < kc; ++k) {
    if (k < ahead.lines) _mm_prefetch(ahead.at + 64 * k, _MM_HINT_T0);
    __m512i bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_loadu_si512(b + koff[k] + v * 16);
    const int32_t* ak = reinterpret_cast<const int32_t*>(a + k * kMr);
#pragma GCC unroll 8
    for (int m = 0; m < kMr; ++m) {
      const __m512i av = _mm512_set1_epi32(ak[m]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[m][v] = _mm512_dpbusd_epi32(acc[m][v], bv[v], av);
    }
  }
#pragma GCC unroll 8
  for (int m = 0; m < kMr; ++m) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) _mm512_storeu_si512(c + m * ldc + v * 16, acc[m][v]);
  }
}

inline __m512i load_i8_as_i32(const int8_t* p) {
  return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

#else  // AVX2

constexpr int kGroup = 2;
constexpr int kMr = 4;
constexpr int kNr = 3;
constexpr uint32_t kPadWord = 0;

// Two channels' int8 values as int16.
void pack_words(const int32_t* x, int64_t cs, int channels, int64_t count, uint32_t* out) {
  int64_t p = 0;
  for (; p + 8 <= count; p += 8) {
    __m256i word = _mm256_setzero_si256();
    if (channels > 0) {
      __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + p));
      v = _mm256_srai_epi32(_mm256_slli_epi32(v, 24), 24);
      word = _mm256_and_si256(v, _mm256_set1_epi32(0xFFFF));
    }
    if (channels > 1) {
      __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + cs + p));
      word = _mm256_or_si256(word, _mm256_srai_epi32(_mm256_slli_epi32(v, 24), 8));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + p), word);
  }
  for (; p < count; ++p) {
    uint32_t word = 0;
    for (int j = 0; j < channels; ++j) {
      const int16_t v = static_cast<int8_t>(x[j * cs + p]);
      word |= static_cast<uint32_t>(static_cast<uint16_t>(v)) << (16 * j);
    }
    out[p] = word;
  }
}

template <int NV>
void gemm_tile(const uint32_t* a, const uint32_t* b, const int64_t* koff, int64_t kc, int32_t* c,
               int64_t ldc, bool accumulate, Prefetch ahead) {
  __m256i acc[kMr][NV];
#pragma GCC unroll 4
  for (int m = 0; m < kMr; ++m) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      acc[m][v] = accumulate
                      ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + m * ldc + v * 8))
                      : _mm256_setzero_si256();
    }
  }
  for (int64_t k = 0; k < kc; ++k) {
    if (k < ahead.lines) _mm_prefetch(ahead.at + 64 * k, _MM_HINT_T0);
    __m256i bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      bv[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + koff[k] + v * 8));
    }
    const int32_t* ak = reinterpret_cast<const int32_t*>(a + k * kMr);
#pragma GCC unroll 4
    for (int m = 0; m < kMr; ++m) {
      const __m256i av = _mm256_set1_epi32(ak[m]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        acc[m][v] = _mm256_add_epi32(acc[m][v], _mm256_madd_epi16(bv[v], av));
      }
    }
  }
#pragma GCC unroll 4
  for (int m = 0; m < kMr; ++m) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + m * ldc + v * 8), acc[m][v]);
    }
  }
}

inline __m256i load_i8_as_i32(const int8_t* p) {
  return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
}

#endif

void gemm(const uint32_t* a, const uint32_t* b, const int64_t* koff, int64_t kc, int32_t* c,
          int64_t ldc, int nvec, bool accumulate, Prefetch ahead) {
  switch (nvec) {
    case 1: gemm_tile<1>(a, b, koff, kc, c, ldc, accumulate, ahead); break;
    case 2: gemm_tile<2>(a, b, koff, kc, c, ldc, accumulate, ahead); break;
    default: gemm_tile<3>(a, b, koff, kc, c, ldc, accumulate, ahead); break;
  }
}

