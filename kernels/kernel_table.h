// The kernel table (Table, one per instruction set): the ISA-specific kernels
// behind the executor's fast steps, as plain functions over raw pointers.
// Each table entry computes exactly what the scalar operators compute (the
// tests compare them byte for byte). Their code: kernels/simd_impl.h and
// kernels/simd/ (vector), kernels/chain_scalar.cc (scalar chains).
#pragma once

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "cvm/isa.hpp"

namespace cvm {
namespace kernels {

// ---------------------------------------------------------------------------
// Element-wise chains: a value per element passes through stages in order;
// each stage may store its result (an entry of the graph) at the element's
// flat index.

enum class StageOp : uint8_t {
  kClamp,       // min(max(x, lo), hi)
  kZero,        // cvm_right_shift with precision 1
  kShift31,     // cvm_right_shift with shift >= 31: x >> 31
  kShiftRound,  // ((x >> (s - 1)) + 1) >> 1, the + 1 wrapping
  kShiftSat,    // x < x_lo: -hi; x > x_hi: hi; else the rounding shift
  kBinary,      // x op operand (wrapping)
};
enum class BinOp : uint8_t { kAdd, kSub, kRSub, kMul, kMax };
enum class OperandMode : uint8_t {
  kSame,   // operand[flat index]
  kPlane,  // operand[n * stride_n + c * stride_c]: one value per (n, c) plane
};

struct Stage {
  StageOp op = StageOp::kClamp;
  BinOp bin = BinOp::kAdd;
  OperandMode mode = OperandMode::kSame;
  int32_t lo = 0, hi = 0;
  int32_t x_lo = 0, x_hi = 0;
  int32_t shift = 0;
  const int32_t* operand = nullptr;
  int64_t stride_n = 0, stride_c = 0;
  int32_t* write = nullptr;  // where the stage's value is stored, or null
};

constexpr int kMaxStages = 8;

// Chains the kernels run with dedicated code (see finalize()). rs(x, s) is
// the exact rounding shift (t >> 1) + (t & 1) with t = x >> (s - 1): equal to
// the operator's ((x >> (s - 1)) + 1) >> 1 wherever that does not overflow
// (always when s >= 2), and the saturating cvm_right_shift is exactly
// clamp(rs(x, s), -hi, hi) for every s.
enum class Pattern : uint8_t {
  kGeneric,     // stage by stage
  kStore,       // y = x
  kClamp,       // y = clamp(x, lo1, hi1)
  kShiftClamp,  // y = clamp(rs(x, s1), lo1, hi1)
  kResidual,    // y = clamp(rs(clamp(rs(x, s1), lo1, hi1) + operand[i], s2), lo2, hi2)
  kRequant,     // y = clamp(rs(clamp(rs(x, s1), lo1, hi1) * mul[c], s2), lo2, hi2), the
                // product wrapping: a per-channel (or one) multiplier between two shifts
                // (s1 = 0: no first shift)
};

struct Chain {
  int32_t* source_write = nullptr;  // the source's own entry, or null
  int num_stages = 0;
  Stage stages[kMaxStages];

  // Set by finalize().
  Pattern pattern = Pattern::kGeneric;
  int32_t* final_write = nullptr;
  const int32_t* operand = nullptr;
  // Byte activations (set by the plan after finalize(), only for a pattern,
  // only with a Table whose pack_bytes is set): the final values as int8 at
  // final_bytes[flat], in place of final_write; the residual operand read
  // as int8 from operand_bytes[flat], in place of operand.
  int8_t* final_bytes = nullptr;
  const int8_t* operand_bytes = nullptr;
  int32_t s1 = 0, lo1 = 0, hi1 = 0, s2 = 0, lo2 = 0, hi2 = 0;
  // kRequant: channel c's multiplier is mul[c * mul_stride] (mul_stride 0:
  // one for all).
  const int32_t* mul = nullptr;
  int64_t mul_stride = 0;
  int32_t mul_of(int64_t c) const { return mul[c * mul_stride]; }
  // Set by a step that bounds the values (set_rounding): the first / second
  // rounding shift of the pattern may add half and shift (x + 2^(s-1) >> s,
  // the same as the exact rounding whenever that sum does not overflow).
  bool round1 = false, round2 = false;

  // Recognises the patterns above (only when nothing but the last value is
  // stored); call once the pointers are set.
  void finalize();

  // The bounds the pattern's last clamp puts on the final values (the full
  // int32 range for kStore, kGeneric).
  void final_bounds(int32_t* lo, int32_t* hi) const {
    switch (pattern) {
      case Pattern::kClamp:
      case Pattern::kShiftClamp: *lo = lo1; *hi = hi1; return;
      case Pattern::kResidual:
      case Pattern::kRequant: *lo = lo2; *hi = hi2; return;
      default: *lo = INT32_MIN; *hi = INT32_MAX; return;
    }
  }
  // Whether the final values are provably int8.
  bool int8_values() const {
    int32_t lo = 0, hi = 0;
    final_bounds(&lo, &hi);
    return lo >= -128 && hi <= 127 && lo <= hi;
  }
};

// Sets chain.round1 / round2 when the pattern's values provably leave room
// for the cheaper rounding: the sums before the bias at most `sum_bound` in
// magnitude, the bias values bias[0 .. count) (null: none), a residual
// operand read as int8, the multipliers of channels [0, count).
inline void set_rounding(Chain& chain, int64_t sum_bound, const int32_t* bias, int64_t count) {
  chain.round1 = chain.round2 = false;
  if (chain.pattern != Pattern::kShiftClamp && chain.pattern != Pattern::kResidual &&
      chain.pattern != Pattern::kRequant) {
    return;
  }
  int64_t most = 0;
  for (int64_t i = 0; bias && i < count; ++i) {
    most = std::max(most, std::abs(int64_t{bias[i]}));
  }
  constexpr int64_t kMax = 2147483647;
  auto room = [](int64_t bound, int32_t s) {
    return s >= 1 && s <= 30 && bound <= kMax - (int64_t{1} << (s - 1));
  };
  chain.round1 = room(sum_bound + most, chain.s1);
  if (chain.pattern == Pattern::kResidual && chain.operand_bytes) {
    const int64_t clamp = std::max(std::abs(int64_t{chain.lo1}), std::abs(int64_t{chain.hi1}));
    chain.round2 = room(clamp + 128, chain.s2);
  }
  if (chain.pattern == Pattern::kRequant) {
    // |clamp1 * mul| must not wrap either (a wrapped product is exact only
    // with the exact rounding).
    int64_t most_mul = 0;
    for (int64_t c = 0; c < (chain.mul_stride ? count : 1); ++c) {
      most_mul = std::max(most_mul, std::abs(int64_t{chain.mul_of(c)}));
    }
    const int64_t clamp = std::max(std::abs(int64_t{chain.lo1}), std::abs(int64_t{chain.hi1}));
    chain.round2 = clamp * most_mul <= kMax && room(clamp * most_mul, chain.s2);
  }
}

// A chain to run on the values of one output plane: the plane's first flat
// index and the value added to each first (the bias).
struct PlaneEpilogue {
  const Chain* chain = nullptr;
  int64_t flat0 = 0;
  int32_t add = 0;
  int32_t mul = 0;  // the plane's multiplier (kRequant)
};

// Where the lanes of a product tile go: the lanes set in mask[v] of vector
// v are output pixels out[v], out[v] + 1, ... in lane order.
struct TileMap {
  int nvec = 0;
  uint32_t mask[4] = {0, 0, 0, 0};
  int64_t out[4] = {0, 0, 0, 0};
};

// Cache lines to prefetch: `lines` lines of 64 bytes from `at` (none when
// null).
struct Prefetch {
  const char* at = nullptr;
  int64_t lines = 0;
};

// A run of one tile row: `len` values at column `offset` of the tile go to
// output pixels [out, out + len).
struct Segment {
  int32_t offset = 0;
  int32_t len = 0;
  int64_t out = 0;
};

// ---------------------------------------------------------------------------
// int8 convolution as a matrix product. Channels are packed in groups of
// `group` (4 int8 as uint8 + 128 for VNNI, 2 int16 for AVX2), one 32-bit word
// per (channel group, pixel); weights as words of the same channels.

struct Table {
  Isa isa = Isa::kScalar;
  int lanes = 1;        // int32 lanes of a vector
  int group = 1;        // channels per 32-bit word
  int mr = 1;           // output channels per micro-tile
  int nr = 1;           // vectors of pixels per micro-tile
  uint32_t pad_word = 0;  // the word of four (or two) zero channels
  bool offset_data = false;  // data stored as x + 128 (VNNI): subtract 128 * sum(w)

  // Words of channels [c0, c0 + group) of `count` pixels, from `count`
  // int32 values per channel with `channel_stride` between channels (cast to
  // int8 first); `channels` <= group of them exist, the rest are zero.
  void (*pack_words)(const int32_t* x, int64_t channel_stride, int channels, int64_t count,
                     uint32_t* out);
  // The same words from int8 values. Set only where gemm_fused and
  // epilogue_t also take byte activations (Chain::final_bytes,
  // Chain::operand_bytes); null elsewhere.
  void (*pack_bytes)(const int8_t* x, int64_t channel_stride, int channels, int64_t count,
                     uint32_t* out) = nullptr;

  // C[mr][nvec * lanes] (+)= A[k][mr] . B[k][nvec * lanes] over k < kc,
  // where row k of B starts at b + koff[k] and C rows are `ldc` int32 apart.
  // `ahead`: cache lines to ask for meanwhile, one an iteration of k (the
  // next block's weights; no effect on values).
  void (*gemm)(const uint32_t* a, const uint32_t* b, const int64_t* koff, int64_t kc, int32_t* c,
               int64_t ldc, int nvec, bool accumulate, Prefetch ahead);

  // Runs `chain` on len values src[0..len) whose flat index starts at
  // `flat`, in plane (n, c); `add` is added to each value first (wrapping).
  void (*chain)(const Chain& chain, const int32_t* src, int64_t len, int64_t flat, int64_t n,
                int64_t c, int32_t add);

  // gemm (kc rows, from zero or from the partial sums cin[m][...], rows ldc
  // apart) then the chain's pattern on the accumulators, row m (< rows)
  // plus add[m], stored through `map` at chain.final_write + flat0 + m *
  // plane (the residual operand read likewise from chain.operand; a
  // kRequant's multiplier of row m is mul[m], else mul may be null). Returns
  // false, doing nothing, for a generic chain or a map this ISA cannot
  // store (lanes that are not a prefix, without AVX-512).
  bool (*gemm_fused)(const uint32_t* a, const uint32_t* b, const int64_t* koff, int64_t kc,
                     const int32_t* cin, int64_t ldc, const Chain& chain, int64_t flat0,
                     int64_t plane, int rows, const int32_t* add, const int32_t* mul,
                     const TileMap& map, Prefetch ahead);

  // The transposed product for small pixel grids (AVX-512 only, else
  // null): lanes are 48 output channels, rows up to 7 pixels. C[m][48] (+)=
  // sum_k at[k][48] * data word at base + koff[k] + pos[m] (pos[m] for
  // m < rows; rows past `rows` repeat the last), for the first `noc`
  // channels rounded up to vectors of 16 (the rest of C untouched).
  // `ahead`: cache lines to ask for meanwhile, two an iteration of k (the
  // next weights, while these are reused from cache; no effect on values).
  void (*gemm_t)(const uint32_t* at, const uint32_t* base, const int64_t* koff,
                 const int64_t* pos, int rows, int64_t kc, int32_t* c, bool accumulate,
                 int noc, Prefetch ahead);
  // Its epilogue: row m of C (+ add[48]) is pixel pix[m] of output channels
  // oc0 + [0, noc) (a kRequant's multipliers mul[48], else mul may be
  // null); flat0 = (n * O + oc0) * plane. Pattern chains store
  // (scatter) to chain.final_write; generic ones store the values to
  // tmp[lane * plane + pix[m]] for the caller to run the chain on.
  void (*epilogue_t)(const Chain& chain, const int32_t* c, int rows, const int64_t* pix,
                     int64_t flat0, int64_t plane, int noc, const int32_t* add,
                     const int32_t* mul, int32_t* tmp);

  // The chain over `rows` rows of a product tile (rows `ldc` apart): row m
  // is output channel c0 + m of image n, its flat index flat0 + m * plane
  // (+ the segment's output pixel), its added value add[m].
  void (*epilogue)(const Chain& chain, const int32_t* tile, int64_t ldc, int rows,
                   const Segment* segments, int num_segments, int64_t flat0, int64_t plane,
                   int64_t n, int64_t c0, const int32_t* add);

  // Depthwise convolution of one h x w plane straight from it (zeros
  // outside): out[r][q] = sum w[i][k] * x[r * sh - ph + i * dh][q * sw - pw + k * dw]
  // (wrapping int32), out being oh x ow. False (nothing done) for strides
  // this ISA has no direct kernel for.
  bool (*depthwise_direct)(const int32_t* x, int64_t h, int64_t w, const int32_t* wt, int64_t fh,
                           int64_t fw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                           int64_t dh, int64_t dw, int64_t oh, int64_t ow, int32_t* out);

  // Depthwise convolution of one h x w plane whose values all fit int8, with
  // the filter's taps as int8 too: the plane is copied as bytes x + 128 into
  // `bytes` (depthwise_bytes(...).size bytes; 128 outside the plane), and
  // four taps of a filter row go into one vpdpbusd per 16 output pixels;
  // `comp` (128 times the sum of the taps) is subtracted. `wpack` holds, per
  // filter row, depthwise_bytes().chunks words of four int8 taps (0 past the
  // row). Same arguments and output as depthwise_direct; with `epi` whose
  // chain has a pattern, the sums plus epi->add go through the pattern
  // straight to the chain's final write at epi->flat0 + pixel instead (`out`
  // unused). False, with nothing written, when a value the filter reads is
  // outside [-128, 127]. Null when the CPU lacks AVX-512 VBMI (vpermb).
  // With x8 set, the plane is int8 values there (x unused; never declined);
  // the pattern may store to chain.final_bytes and read chain.operand_bytes.
  bool (*depthwise_u8)(const int32_t* x, const int8_t* x8, int64_t h, int64_t w,
                       const uint32_t* wpack, int32_t comp, int64_t fh, int64_t fw, int64_t sh,
                       int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw, int64_t oh,
                       int64_t ow, int32_t* out, uint8_t* bytes,
                       const struct PlaneEpilogue* epi) = nullptr;

  // depthwise_u8 of `planes` consecutive int8 planes at x8 that share their
  // filter, bias and multiplier (average pools), laid out as one plane (see
  // StackedPlanes; planes <= s.max_planes, `bytes` s.bytes of scratch): the
  // values through epi's pattern (never kGeneric or kResidual) stored as
  // bytes to epi.chain->final_bytes + epi.flat0 onwards. Small planes cost a
  // setup each in depthwise_u8; here 64 positions of the stacked plane are
  // one step. Null without AVX-512 VBMI2 (vpexpandb, vpcompressb).
  void (*depthwise_u8_stacked)(const int8_t* x8, int64_t planes, const struct StackedPlanes& s,
                               const uint32_t* wpack, int32_t comp, uint8_t* bytes,
                               const struct PlaneEpilogue& epi) = nullptr;

  // out[p] = sum_t w[t] * x[toff[t] + p] for p < count (wrapping int32).
  void (*depthwise)(const int32_t* x, const int64_t* toff, const int32_t* w, int taps,
                    int64_t count, int32_t* out);

  // max_pool2d of one h x w plane: window ph x pw, strides (sh, sw), the
  // window of output (r, q) starting at (r * sh - top, q * sw - left); only
  // positions inside the plane count (each window holds at least one).
  // `scratch`: max_pool_scratch(w, pw, sw, ow) words.
  void (*max_pool)(const int32_t* x, int64_t h, int64_t w, int64_t ph, int64_t pw, int64_t sh,
                   int64_t sw, int64_t top, int64_t left, int64_t oh, int64_t ow, int32_t* out,
                   int32_t* scratch);

  // The same on int8 values (byte activations): x and out hold int8,
  // `scratch` max_pool_u8_scratch(w, pw, sw, ow, left) bytes. Null when the
  // CPU lacks AVX-512 VBMI.
  void (*max_pool_u8)(const int8_t* x, int64_t h, int64_t w, int64_t ph, int64_t pw, int64_t sh,
                      int64_t sw, int64_t top, int64_t left, int64_t oh, int64_t ow, int8_t* out,
                      int8_t* scratch) = nullptr;

  // max_pool2d 3 x 3, strides 1, padding 1 (output h x w) of one int8
  // plane of `plane` = h * w values, row length w; `masks` from
  // max_pool3_masks(h, w). Null without AVX-512.
  void (*max_pool3_u8)(const int8_t* x, int64_t plane, int64_t w, const uint64_t* masks,
                       int8_t* out) = nullptr;

  // dst[r * phase_stride + k] = src[k * s + r] for every k * s + r < count.
  void (*split_phases)(const int32_t* src, int64_t count, int64_t s, int32_t* dst,
                       int64_t phase_stride);

  // out[i] = a[i] * ka + b[i] * kb for i < len (wrapping), a (b) read as
  // int8 values from a8 (b8) where that is set.
  void (*scale_add)(const int32_t* a, const int8_t* a8, int32_t ka, const int32_t* b,
                    const int8_t* b8, int32_t kb, int64_t len, int32_t* out);

  // The same sums plus `add`, then the chain's pattern (kStore, kClamp,
  // kShiftClamp or kRequant, channel c's multiplier), stored at flat index
  // `flat` of the chain's final entry (as int8 when chain.final_bytes is set):
  // one pass. False, doing nothing, for other patterns.
  bool (*scale_add_chain)(const Chain& chain, const int32_t* a, const int8_t* a8, int32_t ka,
                          const int32_t* b, const int8_t* b8, int32_t kb, int32_t add,
                          int64_t len, int64_t flat, int64_t c);

  // Channels [c0, c1) of one image's planes of `plane` values (plane >=
  // lanes), from flat index flat0 (the first channel's first value):
  // x * w[c] + bias[c] (bias null: 0), then the chain's pattern as
  // scale_add_chain does, with channel c's multiplier; x read as int8 from x8
  // where that is set (x and x8 point at the tensor's start). One pass over
  // all the channels' values, a vector crossing from one channel into the
  // next (a plane of 7 x 7 takes four vectors, not four calls). False, doing
  // nothing, for other patterns.
  bool (*scale_channels_chain)(const Chain& chain, const int32_t* x, const int8_t* x8,
                               const int32_t* w, const int32_t* bias, int64_t plane, int64_t c0,
                               int64_t c1, int64_t flat0) = nullptr;

  // y[i] = table[x[i] as an unsigned byte] for i < n: a 256-entry byte
  // table indexed by an int8 value's bits (entry 255 is value -1's). Null
  // when the CPU lacks AVX-512 VBMI.
  void (*lookup_bytes)(const int8_t* x, int64_t n, const int8_t* table, int8_t* y) = nullptr;

  // y[i] = the wrapping sum (max = false) or the max of x[i * inner .. + inner)
  // for i < rows (inner >= 1).
  void (*reduce_rows)(const int32_t* x, int64_t rows, int64_t inner, bool max, int32_t* y);

  // y[u] = sum_k x[k] * w[u][k] for u < units (wrapping), w packed by
  // pack_dense as int8 in blocks of `lanes` units.
  void (*dense)(const int32_t* x, const int8_t* w, int64_t k, int64_t units, int32_t* y);
};

inline int64_t max_pool_scratch(int64_t w, int64_t pw, int64_t sw, int64_t ow, int lanes) {
  const int64_t row = (ow + 2 * lanes) * sw + pw + w + lanes;
  return 2 * row + sw * lanes + 64;
}

// Bytes of max_pool_u8's scratch: a padded row and its window maxima, each
// with a vector of slack.
// Per vector of 64 pixels of an h x w plane (flat): the lanes in the plane,
// then for each tap (dr, dc) of a 3 x 3 window but the centre, row by row,
// the lanes whose pixel (r + dr, q + dc) lies in the plane. Bit l of a mask:
// pixel 64 * vector + l.
inline std::vector<uint64_t> max_pool3_masks(int64_t h, int64_t w) {
  const int64_t plane = h * w;
  std::vector<uint64_t> masks;
  for (int64_t i0 = 0; i0 < plane; i0 += 64) {
    uint64_t m[9] = {};
    for (int64_t l = 0; l < 64 && i0 + l < plane; ++l) {
      const int64_t r = (i0 + l) / w, q = (i0 + l) % w;
      m[0] |= uint64_t{1} << l;
      int t = 1;
      for (int64_t dr = -1; dr <= 1; ++dr) {
        for (int64_t dc = -1; dc <= 1; ++dc) {
          if (dr == 0 && dc == 0) continue;
          if (r + dr >= 0 && r + dr < h && q + dc >= 0 && q + dc < w) m[t] |= uint64_t{1} << l;
          ++t;
        }
      }
    }
    masks.insert(masks.end(), m, m + 9);
  }
  return masks;
}

inline int64_t max_pool_u8_scratch(int64_t w, int64_t pw, int64_t sw, int64_t ow, int64_t left) {
  const int64_t row = std::max((ow - 1) * sw + pw, left + w) + 128;
  return 2 * row;
}

// The byte rows of depthwise_u8: `rows` padded rows of `stride` bytes, the
// input row r at row r + ph and its column c at byte pw + c; `chunks` words
// of taps per filter row. ok is false for geometries it does not take (a
// vector's 16 pixels and 4 taps must lie within 64 bytes).
struct DepthwiseBytes {
  bool ok = false;
  // Strides 1 without column dilation, rows of at least 17 pixels or a
  // plane of one block: rows of exactly ow + fw - 1 bytes (the padded row),
  // so that consecutive rows form one run the kernel computes 64 positions
  // at a time. (Rows of 14 measured faster as vectors of 16 pixels; rows
  // of 17, InceptionV3's, take two vectors, the second of one pixel: flat
  // is 30% faster there.)
  bool flat = false;
  int64_t rows = 0, stride = 0, chunks = 0, bytes = 0;
  int64_t size() const { return bytes; }
};
inline DepthwiseBytes depthwise_bytes(int64_t fh, int64_t fw, int64_t sh, int64_t sw,
                                      int64_t dh, int64_t dw, int64_t oh, int64_t ow) {
  DepthwiseBytes d;
  d.chunks = (fw + 3) / 4;
  if (fh < 1 || fw < 1 || oh < 1 || ow < 1 || 15 * sw + 3 * dw > 63 || fh * d.chunks > 64) {
    return d;
  }
  d.ok = true;
  d.rows = (oh - 1) * sh + (fh - 1) * dh + 1;
  auto round64 = [](int64_t v) { return (v + 63) / 64 * 64; };
  const int64_t vecs = (ow + 15) / 16;
  const int64_t last_chunk = (d.chunks - 1) * 4 * dw;
  d.flat = sh == 1 && sw == 1 && dw == 1 && (ow >= 17 || (oh - 1) * (ow + fw - 1) + ow <= 64);
  // The last vector's last chunk reads 64 bytes from its start.
  d.stride = d.flat ? ow + fw - 1 : round64((vecs - 1) * 16 * sw + last_chunk + 64);
  // Where the reads end, past the last row: of vectors of 16 pixels of a
  // row; of the flat blocks (64 positions, 3 bytes further); of the rows of
  // 32 pixels of stride 2 (2 bytes further).
  const int64_t below = (fh - 1) * dh * d.stride;
  int64_t end = (oh - 1) * sh * d.stride + below + (vecs - 1) * 16 * sw + last_chunk + 64;
  if (d.flat) {
    const int64_t last_block = ((oh - 1) * d.stride + ow - 1) / 64 * 64;
    end = std::max(end, last_block + below + 3 + last_chunk + 64);
  } else if (sw == 2 && dw == 1) {
    end = std::max(end, (oh - 1) * sh * d.stride + below + (ow - 1) / 32 * 64 + 2 +
                            last_chunk + 64);
  }
  d.bytes = round64(std::max(d.rows * d.stride, end));
  return d;
}

// Planes of a depthwise convolution with strides 1, no dilation and "same"
// padding (2 ph = fh - 1, 2 pw = fw - 1), stacked into one byte plane of
// rows of `stride` = w + pw bytes: ph rows of padding, then each plane's h
// rows followed by ph rows of padding, which the rows above and below share;
// a row's pw bytes of left padding are the row before's right padding. The
// output pixel (plane, r, q) is then position (plane * period + r) * stride
// + q of the stacked plane, whose window is the same as the flat kernel's
// (depthwise_u8 with DepthwiseBytes::flat); the other positions are
// computed and dropped. in_mask: per 64 bytes of the stacked plane of
// max_planes planes, the bytes holding values (in order: the planes' values
// in order); out_mask: per 64 positions, those that are output pixels.
struct StackedPlanes {
  bool ok = false;
  int64_t h = 0, w = 0, fh = 0, ph = 0, chunks = 0;
  int64_t stride = 0, period = 0, max_planes = 0, bytes = 0;
  std::vector<uint64_t> in_mask, out_mask;
};
// About `target` bytes of stacked plane a call.
inline StackedPlanes stacked_planes(int64_t h, int64_t w, int64_t fh, int64_t fw, int64_t sh,
                                    int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw,
                                    int64_t target) {
  StackedPlanes s;
  if (h < 1 || w < 1 || sh != 1 || sw != 1 || dh != 1 || dw != 1 || 2 * ph != fh - 1 ||
      2 * pw != fw - 1 || fw > 16 || h > 4096 || w > 4096) {
    return s;
  }
  s.ok = true;
  s.h = h;
  s.w = w;
  s.fh = fh;
  s.ph = ph;
  s.chunks = (fw + 3) / 4;
  s.stride = w + pw;
  s.period = h + ph;
  s.max_planes = std::max<int64_t>(1, target / (s.period * s.stride));
  const int64_t used = (ph + s.max_planes * s.period) * s.stride;
  const int64_t positions = s.max_planes * s.period * s.stride;
  s.in_mask.assign(static_cast<size_t>((used + 63) / 64), 0);
  for (int64_t b = 0; b < used; ++b) {
    const int64_t row = b / s.stride - ph, col = b % s.stride - pw;
    if (row >= 0 && row % s.period < h && col >= 0) {
      s.in_mask[static_cast<size_t>(b / 64)] |= uint64_t{1} << (b % 64);
    }
  }
  s.out_mask.assign(static_cast<size_t>((positions + 63) / 64), 0);
  for (int64_t f = 0; f < positions; ++f) {
    if ((f / s.stride) % s.period < h && f % s.stride < w) {
      s.out_mask[static_cast<size_t>(f / 64)] |= uint64_t{1} << (f % 64);
    }
  }
  // The last block of positions reads 64 bytes from fh - 1 rows below its
  // start and 4 * chunks - 1 bytes to the right (the four loads a byte apart).
  const int64_t reads = (positions + 63) / 64 * 64 + (fh - 1) * s.stride + 4 * s.chunks + 64;
  s.bytes = (std::max(used, reads) + 63) / 64 * 64;
  return s;
}

// The table for `isa` (kScalar has no table: nullptr).
const Table* table(Isa isa);

// Per ISA (defined in the ISA's translation unit).
const Table* table_avx2();
const Table* table_avx512();

// Scalar reference of a chain, for the tails of the vector kernels and tests.
void chain_scalar(const Chain& chain, const int32_t* src, int64_t len, int64_t flat, int64_t n,
                  int64_t c, int32_t add);

}  // namespace kernels
}  // namespace cvm
