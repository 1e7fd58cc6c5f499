// The vector kernels, compiled once per instruction set: an ISA translation
// unit defines CVM_KERNEL_NS, CVM_KERNEL_ARCH (an xsimd architecture) and
// CVM_KERNEL_TABLE (the name of its table function in fast.h),
// compiles with that ISA's flags and includes this file. Everything here has
// internal linkage or lives in the ISA's own namespace, so no function
// compiled for one ISA can be picked by the linker for another.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <xsimd/xsimd.hpp>

#include "kernels/fast.h"

namespace cvm {
namespace kernels {
namespace CVM_KERNEL_NS {
namespace {

using Arch = CVM_KERNEL_ARCH;
using VecI = xsimd::batch<int32_t, Arch>;
constexpr int kLanes = static_cast<int>(VecI::size);

// --------------------------------------------------------------- chains

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

// ------------------------------------------------------ depthwise, pooling

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

// ------------------------------------------------------ masked tails

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

// The epilogue patterns on one vector, y the residual operand.
template <Pattern P>
inline VecI pattern_value(const PatternArgs& pa, VecI x, VecI y) {
  if (P == Pattern::kStore) return x;
  if (P == Pattern::kClamp) return clampv(x, pa.lo1, pa.hi1);
  VecI v = clampv(pa.round1 ? (x + pa.half1) >> pa.s1 : rs_exact(x, pa.s1), pa.lo1, pa.hi1);
  if (P == Pattern::kShiftClamp) return v;
  v = v + y;
  return clampv(pa.round2 ? (v + pa.half2) >> pa.s2 : rs_exact(v, pa.s2), pa.lo2, pa.hi2);
}

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

// ------------------------------------------------------ direct depthwise

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
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t i = 0; i < fh; ++i) {
      for (int64_t c = 0; c < chunks; ++c) {
        const uint8_t* p = bytes + f0 + i * dh * stride + 4 * c;
        const __m512i wv = _mm512_set1_epi32(static_cast<int32_t>(wpack[i * chunks + c]));
        a0 = _mm512_dpbusd_epi32(a0, _mm512_loadu_si512(p), wv);
        a1 = _mm512_dpbusd_epi32(a1, _mm512_loadu_si512(p + 1), wv);
        a2 = _mm512_dpbusd_epi32(a2, _mm512_loadu_si512(p + 2), wv);
        a3 = _mm512_dpbusd_epi32(a3, _mm512_loadu_si512(p + 3), wv);
      }
    }
    const VecI y(0);
    const __m512i v0 = value(a0, y), v1 = value(a1, y), v2 = value(a2, y), v3 = value(a3, y);
    // The rows this block reaches; each row's pixels stored with a mask.
    const int64_t r0 = f0 / stride, r1 = std::min(oh - 1, (f0 + 63) / stride);
    if (dst8) {
      __m512i z = _mm512_castsi128_si512(_mm512_cvtepi32_epi8(v0));
      z = _mm512_inserti32x4(z, _mm512_cvtepi32_epi8(v1), 1);
      z = _mm512_inserti32x4(z, _mm512_cvtepi32_epi8(v2), 2);
      z = _mm512_inserti32x4(z, _mm512_cvtepi32_epi8(v3), 3);
      z = _mm512_permutexvar_epi8(interleave, z);
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
    const __m512i t0 = _mm512_unpacklo_epi32(v0, v1), t1 = _mm512_unpackhi_epi32(v0, v1);
    const __m512i t2 = _mm512_unpacklo_epi32(v2, v3), t3 = _mm512_unpackhi_epi32(v2, v3);
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
  const __m512i vcomp = _mm512_set1_epi32(comp);
  // Stores the sums `acc` of output pixels at..at + 15 (lanes of m): raw, or
  // through the chain's pattern.
  const Chain* ch = epi && epi->chain->pattern != Pattern::kGeneric ? epi->chain : nullptr;
  int8_t* dst8 = ch && ch->final_bytes ? ch->final_bytes + epi->flat0 : nullptr;
  int32_t* dst = dst8 ? nullptr : ch ? ch->final_write + epi->flat0 : out;
  const bool residual = ch && ch->pattern == Pattern::kResidual;
  const int8_t* operand8 = residual && ch->operand_bytes ? ch->operand_bytes + epi->flat0 : nullptr;
  const int32_t* operand = residual && !operand8 ? ch->operand + epi->flat0 : nullptr;
  const VecI vadd(ch ? epi->add : 0);
  // The value of sums `acc` through the pattern (the residual's operand
  // `y`).
  const PatternArgs pa(ch ? *ch : Chain());
  const Pattern pattern = ch ? ch->pattern : Pattern::kStore;
  auto value = [&](__m512i acc, VecI y) {
    VecI v = VecI(_mm512_sub_epi32(acc, vcomp));
    if (!ch) return v;
    v = v + vadd;
    switch (pattern) {
      case Pattern::kClamp: return pattern_value<Pattern::kClamp>(pa, v, y);
      case Pattern::kShiftClamp: return pattern_value<Pattern::kShiftClamp>(pa, v, y);
      case Pattern::kResidual: return pattern_value<Pattern::kResidual>(pa, v, y);
      default: return v;  // kStore
    }
  };
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
#endif

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
#endif

// ------------------------------------------------------ reductions

void reduce_rows(const int32_t* x, int64_t rows, int64_t inner, bool max, int32_t* y) {
  for (int64_t i = 0; i < rows; ++i) {
    const int32_t* r = x + i * inner;
    int64_t j = 0;
    int32_t acc = r[0];
    if (inner >= kLanes) {
      VecI v = VecI::load_unaligned(r);
      for (j = kLanes; j + kLanes <= inner; j += kLanes) {
        const VecI u = VecI::load_unaligned(r + j);
        v = max ? xsimd::max(v, u) : v + u;
      }
      alignas(64) int32_t lanes[kLanes];
      v.store_aligned(lanes);
      acc = lanes[0];
      for (int l = 1; l < kLanes; ++l) {
        acc = max ? (lanes[l] > acc ? lanes[l] : acc)
                  : static_cast<int32_t>(static_cast<uint32_t>(acc) + static_cast<uint32_t>(lanes[l]));
      }
    } else {
      j = 1;
    }
    for (; j < inner; ++j) {
      acc = max ? (r[j] > acc ? r[j] : acc)
                : static_cast<int32_t>(static_cast<uint32_t>(acc) + static_cast<uint32_t>(r[j]));
    }
    y[i] = acc;
  }
}

// ------------------------------------------------------ ISA-specific parts

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
void pack_bytes(const int8_t* x, int64_t cs, int channels, int64_t count, uint32_t* out) {
  const __m512i flip = _mm512_set1_epi32(static_cast<int>(kPadWord));
  for (int64_t p = 0; p < count; p += 16) {
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
               int64_t ldc, bool accumulate) {
  __m512i acc[kMr][NV];
#pragma GCC unroll 8
  for (int m = 0; m < kMr; ++m) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      acc[m][v] = accumulate ? _mm512_loadu_si512(c + m * ldc + v * 16) : _mm512_setzero_si512();
    }
  }
  for (int64_t k = 0; k < kc; ++k) {
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
               int64_t ldc, bool accumulate) {
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
          int64_t ldc, int nvec, bool accumulate) {
  switch (nvec) {
    case 1: gemm_tile<1>(a, b, koff, kc, c, ldc, accumulate); break;
    case 2: gemm_tile<2>(a, b, koff, kc, c, ldc, accumulate); break;
    default: gemm_tile<3>(a, b, koff, kc, c, ldc, accumulate); break;
  }
}

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

// OutB / OpB: the final values / the residual operand as bytes (AVX-512).
template <int NV, Pattern P, bool OutB, bool OpB>
void gemm_fused_tile(const uint32_t* a, const uint32_t* b, const int64_t* koff, int64_t kc,
                     const int32_t* cin, int64_t ldc, const Chain& ch, int64_t flat0,
                     int64_t plane, int rows, const int32_t* add, const TileMap& map) {
#if defined(__AVX512F__)
  using Reg = __m512i;
#else
  using Reg = __m256i;
#endif
  Reg acc[kMr][NV];
#pragma GCC unroll 8
  for (int m = 0; m < kMr; ++m) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      acc[m][v] = cin ? Reg(VecI::load_unaligned(cin + m * ldc + v * kLanes)) : Reg(VecI(0));
    }
  }
  for (int64_t k = 0; k < kc; ++k) {
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
#pragma GCC unroll 8
  for (int m = 0; m < kMr; ++m) {
    if (m >= rows) break;
    const VecI am(add[m]);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const uint32_t mask = map.mask[v];
      if (!mask) continue;
      const int64_t at = m * plane + map.out[v];
      VecI y(0);
#if defined(__AVX512F__)
      if (P == Pattern::kResidual) y = OpB ? load_expand_bytes(op8 + at, mask) : load_expand(op + at, mask);
      const VecI r = pattern_value<P>(pa, VecI(acc[m][v]) + am, y);
      if (OutB) {
        store_compress_bytes(dst8 + at, r, mask);
      } else {
        store_compress(dst + at, r, mask);
      }
#else
      if (P == Pattern::kResidual) y = load_expand(op + at, mask);
      store_compress(dst + at, pattern_value<P>(pa, VecI(acc[m][v]) + am, y), mask);
#endif
    }
  }
}

template <Pattern P, bool OutB, bool OpB>
void gemm_fused_b(const uint32_t* a, const uint32_t* b, const int64_t* koff, int64_t kc,
                  const int32_t* cin, int64_t ldc, const Chain& ch, int64_t flat0, int64_t plane,
                  int rows, const int32_t* add, const TileMap& map) {
  switch (map.nvec) {
    case 1: gemm_fused_tile<1, P, OutB, OpB>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, map); break;
    case 2: gemm_fused_tile<2, P, OutB, OpB>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, map); break;
    default: gemm_fused_tile<3, P, OutB, OpB>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, map); break;
  }
}

// Only a residual pattern reads an operand: the others are not compiled with
// a byte operand.
template <Pattern P, bool OutB>
void gemm_fused_o(const uint32_t* a, const uint32_t* b, const int64_t* koff, int64_t kc,
                  const int32_t* cin, int64_t ldc, const Chain& ch, int64_t flat0, int64_t plane,
                  int rows, const int32_t* add, const TileMap& map) {
  if constexpr (P == Pattern::kResidual) {
    if (ch.operand_bytes) {
      gemm_fused_b<P, OutB, true>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, map);
      return;
    }
  }
  gemm_fused_b<P, OutB, false>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, map);
}

template <Pattern P>
void gemm_fused_p(const uint32_t* a, const uint32_t* b, const int64_t* koff, int64_t kc,
                  const int32_t* cin, int64_t ldc, const Chain& ch, int64_t flat0, int64_t plane,
                  int rows, const int32_t* add, const TileMap& map) {
#if defined(__AVX512F__)
  if (ch.final_bytes) {
    gemm_fused_o<P, true>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, map);
  } else {
    gemm_fused_o<P, false>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, map);
  }
#else
  gemm_fused_b<P, false, false>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, map);
#endif
}

bool gemm_fused(const uint32_t* a, const uint32_t* b, const int64_t* koff, int64_t kc,
                const int32_t* cin, int64_t ldc, const Chain& ch, int64_t flat0, int64_t plane,
                int rows, const int32_t* add, const TileMap& map) {
#if !defined(__AVX512F__)
  for (int v = 0; v < map.nvec; ++v) {
    if (map.mask[v] & (map.mask[v] + 1)) return false;  // not a prefix
  }
#endif
  switch (ch.pattern) {
    case Pattern::kStore: gemm_fused_p<Pattern::kStore>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, map); return true;
    case Pattern::kClamp: gemm_fused_p<Pattern::kClamp>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, map); return true;
    case Pattern::kShiftClamp: gemm_fused_p<Pattern::kShiftClamp>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, map); return true;
    case Pattern::kResidual: gemm_fused_p<Pattern::kResidual>(a, b, koff, kc, cin, ldc, ch, flat0, plane, rows, add, map); return true;
    default: return false;
  }
}

#if defined(__AVX512F__)
// The transposed product: 48 output channels (3 vectors) x up to 7 pixels.
constexpr int kTRows = 7;
void gemm_t(const uint32_t* at, const uint32_t* base, const int64_t* koff, const int64_t* pos,
            int rows, int64_t kc, int32_t* c, bool accumulate) {
  int64_t p[kTRows];
  for (int m = 0; m < kTRows; ++m) p[m] = pos[m < rows ? m : rows - 1];
  __m512i acc[kTRows][3];
#pragma GCC unroll 7
  for (int m = 0; m < kTRows; ++m) {
#pragma GCC unroll 3
    for (int v = 0; v < 3; ++v) {
      acc[m][v] = accumulate ? _mm512_loadu_si512(c + m * 48 + v * 16) : _mm512_setzero_si512();
    }
  }
  for (int64_t k = 0; k < kc; ++k) {
    const __m512i w0 = _mm512_loadu_si512(at + k * 48);
    const __m512i w1 = _mm512_loadu_si512(at + k * 48 + 16);
    const __m512i w2 = _mm512_loadu_si512(at + k * 48 + 32);
    const int32_t* b = reinterpret_cast<const int32_t*>(base + koff[k]);
#pragma GCC unroll 7
    for (int m = 0; m < kTRows; ++m) {
      const __m512i d = _mm512_set1_epi32(b[p[m]]);
      acc[m][0] = _mm512_dpbusd_epi32(acc[m][0], d, w0);
      acc[m][1] = _mm512_dpbusd_epi32(acc[m][1], d, w1);
      acc[m][2] = _mm512_dpbusd_epi32(acc[m][2], d, w2);
    }
  }
#pragma GCC unroll 7
  for (int m = 0; m < kTRows; ++m) {
#pragma GCC unroll 3
    for (int v = 0; v < 3; ++v) _mm512_storeu_si512(c + m * 48 + v * 16, acc[m][v]);
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
                  int64_t flat0, int64_t plane, int noc, const int32_t* add, int32_t* tmp) {
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
    // Byte output of pixels in a row (the blocks of a plane): each output
    // channel's run of `rows` bytes by a masked store, after a transpose.
    __m128i bytes_of[8];
    const bool runs = OutB && rows <= 8 && pix[rows - 1] - pix[0] == rows - 1;
    for (int m = 0; m < rows; ++m) {
      const __m512i idx = _mm512_add_epi32(rowoff, _mm512_set1_epi32(static_cast<int>(pix[m])));
      const VecI x = VecI::load_unaligned(c + m * 48 + v * 16) + a;
      VecI y(0);
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
                  int64_t flat0, int64_t plane, int noc, const int32_t* add, int32_t* tmp) {
  if constexpr (P == Pattern::kResidual) {
    if (ch.operand_bytes) {
      epilogue_t_b<P, OutB, true>(ch, c, rows, pix, flat0, plane, noc, add, tmp);
      return;
    }
  }
  epilogue_t_b<P, OutB, false>(ch, c, rows, pix, flat0, plane, noc, add, tmp);
}

template <Pattern P>
void epilogue_t_p(const Chain& ch, const int32_t* c, int rows, const int64_t* pix,
                  int64_t flat0, int64_t plane, int noc, const int32_t* add, int32_t* tmp) {
  if constexpr (P != Pattern::kGeneric) {
    if (ch.final_bytes) {
      epilogue_t_o<P, true>(ch, c, rows, pix, flat0, plane, noc, add, tmp);
      return;
    }
  }
  epilogue_t_o<P, false>(ch, c, rows, pix, flat0, plane, noc, add, tmp);
}

void epilogue_t(const Chain& ch, const int32_t* c, int rows, const int64_t* pix, int64_t flat0,
                int64_t plane, int noc, const int32_t* add, int32_t* tmp) {
  switch (ch.pattern) {
    case Pattern::kStore: epilogue_t_p<Pattern::kStore>(ch, c, rows, pix, flat0, plane, noc, add, tmp); break;
    case Pattern::kClamp: epilogue_t_p<Pattern::kClamp>(ch, c, rows, pix, flat0, plane, noc, add, tmp); break;
    case Pattern::kShiftClamp: epilogue_t_p<Pattern::kShiftClamp>(ch, c, rows, pix, flat0, plane, noc, add, tmp); break;
    case Pattern::kResidual: epilogue_t_p<Pattern::kResidual>(ch, c, rows, pix, flat0, plane, noc, add, tmp); break;
    default: epilogue_t_p<Pattern::kGeneric>(ch, c, rows, pix, flat0, plane, noc, add, tmp); break;
  }
}

#endif

// y[u] = sum_k x[k] * w[u][k]: weights int8 in blocks of kLanes units,
// [block][k][lane]; four partial sums per block (wrapping adds commute).
void dense(const int32_t* x, const int8_t* w, int64_t k, int64_t units, int32_t* y) {
  for (int64_t u0 = 0; u0 < units; u0 += kLanes) {
    const int8_t* wb = w + u0 * k;
    VecI acc0(0), acc1(0), acc2(0), acc3(0);
    int64_t i = 0;
    for (; i + 4 <= k; i += 4) {
      acc0 = acc0 + VecI(load_i8_as_i32(wb + (i + 0) * kLanes)) * VecI(x[i + 0]);
      acc1 = acc1 + VecI(load_i8_as_i32(wb + (i + 1) * kLanes)) * VecI(x[i + 1]);
      acc2 = acc2 + VecI(load_i8_as_i32(wb + (i + 2) * kLanes)) * VecI(x[i + 2]);
      acc3 = acc3 + VecI(load_i8_as_i32(wb + (i + 3) * kLanes)) * VecI(x[i + 3]);
    }
    for (; i < k; ++i) acc0 = acc0 + VecI(load_i8_as_i32(wb + i * kLanes)) * VecI(x[i]);
    const VecI acc = (acc0 + acc1) + (acc2 + acc3);
    if (u0 + kLanes <= units) {
      acc.store_unaligned(y + u0);
    } else {
      alignas(64) int32_t tmp[kLanes];
      acc.store_aligned(tmp);
      for (int64_t u = u0; u < units; ++u) y[u] = tmp[u - u0];
    }
  }
}

// Built on first use (never at program start: this code may only run on a
// CPU with the ISA).
Table make_table() {
  Table t;
#if defined(__AVX512F__)
  t.isa = Isa::kAvx512;
  t.offset_data = true;
#else
  t.isa = Isa::kAvx2;
  t.offset_data = false;
#endif
  t.lanes = kLanes;
  t.group = kGroup;
  t.mr = kMr;
  t.nr = kNr;
  t.pad_word = kPadWord;
  t.pack_words = pack_words;
#if defined(__AVX512F__)
  t.pack_bytes = pack_bytes;
#endif
  t.gemm = gemm;
  t.chain = run_chain;
  t.epilogue = epilogue;
  t.gemm_fused = gemm_fused;
#if defined(__AVX512F__)
  t.gemm_t = gemm_t;
  t.epilogue_t = epilogue_t;
#else
  t.gemm_t = nullptr;
  t.epilogue_t = nullptr;
#endif
  t.depthwise = depthwise;
  t.depthwise_direct = depthwise_direct;
#if defined(__AVX512F__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512vbmi")) {
    t.depthwise_u8 = depthwise_u8;
    t.max_pool_u8 = max_pool_u8;
  }
#endif
  t.max_pool = max_pool;
  t.split_phases = split_phases;
  t.dense = dense;
  t.reduce_rows = reduce_rows;
  return t;
}

}  // namespace
}  // namespace CVM_KERNEL_NS
}  // namespace kernels
}  // namespace cvm

// The ISA's table, built once (see fast.h).
namespace cvm {
namespace kernels {
const Table* CVM_KERNEL_TABLE() {
  static const Table t = CVM_KERNEL_NS::make_table();
  return &t;
}
}  // namespace kernels
}  // namespace cvm
