// The vector kernels, compiled once per instruction set: an ISA translation
// unit defines CVM_KERNEL_NS and CVM_KERNEL_ARCH (an xsimd architecture),
// compiles with that ISA's flags and includes this file. Everything here has
// internal linkage or lives in the ISA's own namespace, so no function
// compiled for one ISA can be picked by the linker for another.
#include <immintrin.h>

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

void depthwise(const int32_t* phases, int64_t phase_stride, int64_t row_stride, const int32_t* w,
               int64_t fh, int64_t fw, int64_t sh, int64_t sw, int64_t dh, int64_t dw,
               int64_t oh, int64_t ow, int32_t* out) {
  for (int64_t r = 0; r < oh; ++r) {
    int64_t q = 0;
    for (; q + kLanes <= ow; q += kLanes) {
      VecI acc(0);
      for (int64_t i = 0; i < fh; ++i) {
        const int32_t* row = phases + (r * sh + i * dh) * row_stride + q;
        for (int64_t k = 0; k < fw; ++k) {
          const int64_t col = k * dw;
          const int32_t* p = row + (col % sw) * phase_stride + col / sw;
          acc = acc + VecI::load_unaligned(p) * VecI(w[i * fw + k]);
        }
      }
      acc.store_unaligned(out + r * ow + q);
    }
    for (; q < ow; ++q) {
      uint32_t acc = 0;
      for (int64_t i = 0; i < fh; ++i) {
        const int32_t* row = phases + (r * sh + i * dh) * row_stride + q;
        for (int64_t k = 0; k < fw; ++k) {
          const int64_t col = k * dw;
          acc += static_cast<uint32_t>(row[(col % sw) * phase_stride + col / sw]) *
                 static_cast<uint32_t>(w[i * fw + k]);
        }
      }
      out[r * ow + q] = static_cast<int32_t>(acc);
    }
  }
}

void max_pool(const int32_t* phases, int64_t phase_stride, int64_t row_stride, int64_t ph,
              int64_t pw, int64_t sh, int64_t sw, int64_t oh, int64_t ow, int32_t* out) {
  for (int64_t r = 0; r < oh; ++r) {
    int64_t q = 0;
    for (; q + kLanes <= ow; q += kLanes) {
      VecI best(INT32_MIN);
      for (int64_t i = 0; i < ph; ++i) {
        const int32_t* row = phases + (r * sh + i) * row_stride + q;
        for (int64_t k = 0; k < pw; ++k) {
          best = xsimd::max(best, VecI::load_unaligned(row + (k % sw) * phase_stride + k / sw));
        }
      }
      best.store_unaligned(out + r * ow + q);
    }
    for (; q < ow; ++q) {
      int32_t best = INT32_MIN;
      for (int64_t i = 0; i < ph; ++i) {
        const int32_t* row = phases + (r * sh + i) * row_stride + q;
        for (int64_t k = 0; k < pw; ++k) {
          const int32_t v = row[(k % sw) * phase_stride + k / sw];
          best = v > best ? v : best;
        }
      }
      out[r * ow + q] = best;
    }
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
  for (; p < count; ++p) {
    uint32_t word = 0;
    for (int j = 0; j < channels; ++j) word |= (static_cast<uint32_t>(x[j * cs + p]) & 0xFFu) << (8 * j);
    out[p] = word ^ kPadWord;
  }
}

uint32_t weight_word(const int32_t* w, int64_t stride, int channels) {
  uint32_t word = 0;
  for (int j = 0; j < channels; ++j) word |= (static_cast<uint32_t>(w[j * stride]) & 0xFFu) << (8 * j);
  return word;
}

template <int NV>
void gemm_tile(const uint32_t* a, const uint32_t* b, int64_t ldb, int64_t kc, int32_t* c,
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
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_loadu_si512(b + k * ldb + v * 16);
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

uint32_t weight_word(const int32_t* w, int64_t stride, int channels) {
  uint32_t word = 0;
  for (int j = 0; j < channels; ++j) {
    const int16_t v = static_cast<int8_t>(w[j * stride]);
    word |= static_cast<uint32_t>(static_cast<uint16_t>(v)) << (16 * j);
  }
  return word;
}

template <int NV>
void gemm_tile(const uint32_t* a, const uint32_t* b, int64_t ldb, int64_t kc, int32_t* c,
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
      bv[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + k * ldb + v * 8));
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

void gemm(const uint32_t* a, const uint32_t* b, int64_t ldb, int64_t kc, int32_t* c, int64_t ldc,
          int nvec, bool accumulate) {
  switch (nvec) {
    case 1: gemm_tile<1>(a, b, ldb, kc, c, ldc, accumulate); break;
    case 2: gemm_tile<2>(a, b, ldb, kc, c, ldc, accumulate); break;
    default: gemm_tile<3>(a, b, ldb, kc, c, ldc, accumulate); break;
  }
}

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
  t.weight_word = weight_word;
  t.gemm = gemm;
  t.chain = chain_vector;
  t.depthwise = depthwise;
  t.max_pool = max_pool;
  t.dense = dense;
  return t;
}

}  // namespace
}  // namespace CVM_KERNEL_NS
}  // namespace kernels
}  // namespace cvm
