// The ISA-specific kernels behind the executor's fast steps, as plain
// functions over raw pointers. Each table entry computes exactly what the
// scalar operators compute (the tests compare them byte for byte).
#pragma once

#include <cstdint>

#include "cvm/model.hpp"

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

struct Chain {
  int32_t* source_write = nullptr;  // the source's own entry, or null
  int num_stages = 0;
  Stage stages[kMaxStages];
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
  // Word of up to `group` int8 weights w[0], w[stride], ...
  uint32_t (*weight_word)(const int32_t* w, int64_t stride, int channels);

  // C[mr][nvec * lanes] (+)= A[k][mr] . B[k][nvec * lanes] over k < kc,
  // where B rows are `ldb` words apart and C rows `ldc` int32 apart.
  void (*gemm)(const uint32_t* a, const uint32_t* b, int64_t ldb, int64_t kc, int32_t* c,
               int64_t ldc, int nvec, bool accumulate);

  // Runs `chain` on len values src[0..len) whose flat index starts at
  // `flat`, in plane (n, c); `add` is added to each value first (wrapping).
  void (*chain)(const Chain& chain, const int32_t* src, int64_t len, int64_t flat, int64_t n,
                int64_t c, int32_t add);

  // Depthwise convolution of one plane: out[oh][ow] = sum w[fh][fw] *
  // x[oh * sh + fh * dh][ow * sw + fw * dw] over a plane already padded
  // and split by column phase: phase r holds columns r, r + sw, ... of the
  // padded rows, `phase_stride` words apart, rows `row_stride` apart.
  void (*depthwise)(const int32_t* phases, int64_t phase_stride, int64_t row_stride,
                    const int32_t* w, int64_t fh, int64_t fw, int64_t sh, int64_t sw, int64_t dh,
                    int64_t dw, int64_t oh, int64_t ow, int32_t* out);

  // Max of each window; same padded phase layout as depthwise (pad value
  // INT32_MIN).
  void (*max_pool)(const int32_t* phases, int64_t phase_stride, int64_t row_stride,
                   int64_t ph, int64_t pw, int64_t sh, int64_t sw, int64_t oh, int64_t ow,
                   int32_t* out);

  // y[u] = sum_k x[k] * w[u][k] for u < units (wrapping), w packed by
  // pack_dense as int8 in blocks of `lanes` units.
  void (*dense)(const int32_t* x, const int8_t* w, int64_t k, int64_t units, int32_t* y);
};

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
