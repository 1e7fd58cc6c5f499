// Table::lookup_bytes (AVX-512 VBMI): 64 int8 values a step, each through a
// 256-entry byte table indexed by its bits. A two-table byte permute looks
// up the low seven bits in the table's non-negative half and in its
// negative half; the sign bit picks one.
#if defined(__AVX512F__)
__attribute__((target("avx512vbmi"))) void lookup_bytes(const int8_t* x, int64_t n,
                                                         const int8_t* table, int8_t* y) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  for (int64_t i = 0; i < n; i += 64) {
    const int64_t k = std::min<int64_t>(64, n - i);
    const __mmask64 m = k == 64 ? ~__mmask64{0} : (__mmask64{1} << k) - 1;
    const __m512i v = _mm512_maskz_loadu_epi8(m, x + i);
    const __m512i pos = _mm512_permutex2var_epi8(t0, v, t1);
    const __m512i neg = _mm512_permutex2var_epi8(t2, v, t3);
    _mm512_mask_storeu_epi8(y + i, m, _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), pos, neg));
  }
}
#endif
