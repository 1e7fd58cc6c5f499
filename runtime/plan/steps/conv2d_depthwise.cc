// Depthwise conv2d (groups == channels == filters, one input channel per
// filter): int32 products, as the reference's grouped kernel, over the
// phase layout of each plane.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "base/memory.h"
#include "runtime/plan/conv_geometry.h"
#include "runtime/plan/step_support.h"
#include "runtime/plan/steps.h"

namespace cvm {
namespace planning {
namespace {

// Bytes of stacked planes a call of the stacked kernel (a few L1 pages).
constexpr int64_t kStackedBytes = 8192;

class DepthwiseStep : public ByteStep {
 public:
  // copy_first: the group writes where the data is (see the planner): each
  // plane is copied before its output is written.
  // `weight`: the filters when they are a constant parameter (else null);
  // with int8 taps they are packed for the table's byte kernel, if any.
  DepthwiseStep(std::vector<uint32_t> nodes, const kernels::Table* t, const ConvShape& g,
                int64_t x_eid, int64_t w_eid, int64_t bias_eid, ChainPlan chain, bool copy_first,
                const ParamView* weight, PointwiseTable table)
      : ByteStep(std::move(chain)), nodes_(std::move(nodes)), t_(t), table_(std::move(table)),
        conv_(g), x_(x_eid),
        w_(w_eid), bias_(bias_eid), pg_(g), copy_first_(copy_first),
        pointwise_(g.pointwise()),
        bytes_(kernels::depthwise_bytes(g.fh, g.fw, g.sh, g.sw, g.dh, g.dw, g.oh, g.ow)) {
    if (!t->depthwise_u8 || !weight || !bytes_.ok) {
      bytes_.ok = false;
      return;
    }
    const int64_t taps = g.fh * g.fw;
    std::vector<int32_t> wc(static_cast<size_t>(taps));
    wpack_.assign(static_cast<size_t>(g.c * g.fh * bytes_.chunks), 0u);
    comp_.assign(static_cast<size_t>(g.c), 0);
    for (int64_t c = 0; c < g.c; ++c) {
      weight->read(c * taps, taps, wc.data());
      int32_t sum = 0;
      for (int64_t i = 0; i < g.fh; ++i) {
        for (int64_t k = 0; k < g.fw; ++k) {
          const int32_t v = wc[static_cast<size_t>(i * g.fw + k)];
          if (v < -128 || v > 127) {  // not int8: the int32 kernels
            bytes_.ok = false;
            wpack_.clear();
            comp_.clear();
            return;
          }
          sum += v;
          wpack_[static_cast<size_t>((c * g.fh + i) * bytes_.chunks + k / 4)] |=
              (static_cast<uint32_t>(v) & 0xFFu) << (8 * (k % 4));
        }
      }
      comp_[static_cast<size_t>(c)] = 128 * sum;
    }
    // Every channel's filter the same (average pools): the planes may be
    // stacked.
    const int64_t words = g.fh * bytes_.chunks;
    bool same = t->depthwise_u8_stacked != nullptr;
    for (int64_t c = 1; c < g.c && same; ++c) {
      same = comp_[static_cast<size_t>(c)] == comp_[0] &&
             std::equal(wpack_.begin(), wpack_.begin() + words, wpack_.begin() + c * words);
    }
    if (same) {
      stacked_ = kernels::stacked_planes(g.h, g.w, g.fh, g.fw, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw,
                                         kStackedBytes);
    }
  }

  size_t thread_words() const override {
    // Plane, slack the last vectors read, grid output, row scratch, pixels,
    // then the byte rows.
    const size_t words = static_cast<size_t>(pg_.plane_words + pg_.grid + 2 * t_->lanes + pg_.grid +
                                             pg_.wp + conv_.pixels() + t_->lanes +
                                             (bytes_.ok ? (bytes_.size() + 3) / 4 : 0));
    return std::max(words, static_cast<size_t>(stacked_.bytes + 3) / 4);
  }
  const char* kind() const override { return "depthwise"; }
  std::vector<uint32_t> nodes() const override { return nodes_; }
  std::vector<int64_t> data_eids() const override { return {x_}; }
  // Only the byte kernel (every plane through it), or the pointwise path.
  bool takes_bytes() const override { return bytes_.ok || pointwise(); }
  bool data_in_place() const override { return copy_first_; }
  void set_data_bytes(bool on) override { x_bytes_ = on; }

  void run(ExecContext& ctx) const override {
    const kernels::Chain chain = chain_.bind(ctx);
    const int32_t* x = ctx.data(x_);
    const int32_t* w = ctx.data(w_);
    const int32_t* bias = bias_ == kNoEntry ? nullptr : ctx.data(bias_);
    if (pointwise()) {
      run_pointwise(ctx, chain, x, w, bias);
      return;
    }
    const int64_t taps = conv_.fh * conv_.fw;
    // The byte kernel's sums are of int8 products (the int32 kernels read
    // any data: exact rounding there).
    kernels::Chain chain8 = chain;
    kernels::set_rounding(chain8, taps * 16384, bias, conv_.c);
    if (run_stacked(ctx, chain8, bias)) return;
    const double work = static_cast<double>(conv_.n) * conv_.c * pg_.grid * (taps + 4);
    parallel(ctx, conv_.n * conv_.c, threads_for(ctx, work), [&](int64_t b, int64_t e, int thread) {
      int32_t* plane = reinterpret_cast<int32_t*>(ctx.scratch[thread]);
      int32_t* grid = plane + pg_.plane_words + pg_.grid + 2 * t_->lanes;
      int32_t* tmp = grid + pg_.grid;
      int32_t* out = tmp + pg_.wp;
      uint8_t* bytes = reinterpret_cast<uint8_t*>(out + conv_.pixels() + t_->lanes);
      // The slack past the plane, read by the last grid columns.
      std::fill_n(plane + pg_.plane_words, pg_.grid + 2 * t_->lanes, 0);
      for (int64_t i = b; i < e; ++i) {
        const int64_t n = i / conv_.c, c = i % conv_.c;
        const int32_t* src = x + i * conv_.h * conv_.w;
        const int32_t add = bias ? bias[c] : 0;
        // The byte kernel copies the plane before writing (so copy_first
        // holds); it declines, writing nothing, a plane with a value past int8.
        // A chain with a pattern runs in its epilogue.
        kernels::PlaneEpilogue epi;
        epi.chain = &chain8;
        epi.flat0 = i * conv_.pixels();
        epi.add = add;
        epi.mul = chain.pattern == kernels::Pattern::kRequant ? chain.mul_of(c) : 0;
        // Byte data: never declined.
        const int8_t* src8 =
            x_bytes_ ? reinterpret_cast<const int8_t*>(x) + i * conv_.h * conv_.w : nullptr;
        if (bytes_.ok && t_->depthwise_u8(src, src8, conv_.h, conv_.w,
                                          wpack_.data() + c * conv_.fh * bytes_.chunks,
                                          comp_[static_cast<size_t>(c)], conv_.fh, conv_.fw,
                                          conv_.sh, conv_.sw, conv_.ph, conv_.pw, conv_.dh,
                                          conv_.dw, conv_.oh, conv_.ow, out, bytes, &epi)) {
          if (chain.pattern == kernels::Pattern::kGeneric) {
            t_->chain(chain, out, conv_.pixels(), i * conv_.pixels(), n, c, add);
          }
          continue;
        }
        if (!copy_first_ && t_->depthwise_direct(src, conv_.h, conv_.w, w + c * taps, conv_.fh,
                                                 conv_.fw, conv_.sh, conv_.sw, conv_.ph, conv_.pw,
                                                 conv_.dh, conv_.dw, conv_.oh, conv_.ow, out)) {
          t_->chain(chain, out, conv_.pixels(), i * conv_.pixels(), n, c, add);
          continue;
        }
        pg_.fill<int32_t>(plane, 0, tmp, [&](int64_t r, int32_t* row) {
          const int64_t xi = r - conv_.ph;
          if (xi < 0 || xi >= conv_.h) {
            std::fill_n(row, pg_.wp, 0);
            return;
          }
          std::fill_n(row, conv_.pw, 0);
          std::memcpy(row + conv_.pw, src + xi * conv_.w,
                      static_cast<size_t>(conv_.w) * sizeof(int32_t));
          std::fill_n(row + conv_.pw + conv_.w, pg_.wp - conv_.pw - conv_.w, 0);
        }, t_->split_phases);
        t_->depthwise(plane, pg_.toff.data(), w + c * taps, static_cast<int>(taps), pg_.grid,
                      grid);
        if (pg_.rs == conv_.ow) {
          t_->chain(chain, grid, conv_.pixels(), i * conv_.pixels(), n, c, add);
        } else if (conv_.ow >= 2 * t_->lanes) {
          // Row by row from the grid.
          for (int64_t r = 0; r < conv_.oh; ++r) {
            t_->chain(chain, grid + r * pg_.rs, conv_.ow, i * conv_.pixels() + r * conv_.ow, n, c,
                      add);
          }
        } else {
          // Short rows: compacted first, one call.
          for (int64_t r = 0; r < conv_.oh; ++r) {
            std::memcpy(out + r * conv_.ow, grid + r * pg_.rs, static_cast<size_t>(conv_.ow) * 4);
          }
          t_->chain(chain, out, conv_.pixels(), i * conv_.pixels(), n, c, add);
        }
      }
    });
  }

 private:
  // Byte planes to bytes through a pattern, every channel's bias and
  // multiplier the same as its filter: the planes stacked, a run of them a
  // call (Table::depthwise_u8_stacked). False, doing nothing, otherwise.
  bool run_stacked(ExecContext& ctx, const kernels::Chain& chain8, const int32_t* bias) const {
    const kernels::Pattern p = chain8.pattern;
    if (!stacked_.ok || !x_bytes_ || !chain8.final_bytes ||
        (p != kernels::Pattern::kStore && p != kernels::Pattern::kClamp &&
         p != kernels::Pattern::kShiftClamp && p != kernels::Pattern::kRequant)) {
      return false;
    }
    const int32_t add = bias ? bias[0] : 0;
    const int32_t mul = p == kernels::Pattern::kRequant ? chain8.mul_of(0) : 0;
    for (int64_t c = 1; c < conv_.c; ++c) {
      if ((bias && bias[c] != add) ||
          (p == kernels::Pattern::kRequant && chain8.mul_of(c) != mul)) {
        return false;
      }
    }
    const int8_t* x8 = reinterpret_cast<const int8_t*>(ctx.data(x_));
    const int64_t planes = conv_.n * conv_.c, pixels = conv_.pixels();
    const int64_t runs = ceil_div(planes, stacked_.max_planes);
    const double work = static_cast<double>(planes) * pixels * (conv_.fh * conv_.fw + 4);
    parallel(ctx, runs, threads_for(ctx, work), [&](int64_t b, int64_t e, int thread) {
      uint8_t* bytes = reinterpret_cast<uint8_t*>(ctx.scratch[thread]);
      for (int64_t r = b; r < e; ++r) {
        const int64_t first = r * stacked_.max_planes;
        const int64_t count = std::min(stacked_.max_planes, planes - first);
        kernels::PlaneEpilogue epi;
        epi.chain = &chain8;
        epi.flat0 = first * pixels;
        epi.add = add;
        epi.mul = mul;
        t_->depthwise_u8_stacked(x8 + first * pixels, count, stacked_, wpack_.data(), comp_[0],
                                 bytes, epi);
      }
    });
    return true;
  }

  // A 1 x 1 filter with strides 1 and no padding (a BatchNorm that follows no
  // convolution, as the quantizer writes it): x * w[c] + bias[c], then the
  // chain, plane by plane, from and to bytes where the plan says. Not for a
  // residual pattern (its operand may be bytes, which the chain kernel does
  // not read).
  bool pointwise() const {
    return pointwise_ && chain_.shape_only().pattern != kernels::Pattern::kResidual;
  }
  void run_pointwise(ExecContext& ctx, const kernels::Chain& chain, const int32_t* x,
                     const int32_t* w, const int32_t* bias) const {
    const int64_t pixels = conv_.pixels();
    const int8_t* x8 = x_bytes_ ? reinterpret_cast<const int8_t*>(x) : nullptr;
    const double work = static_cast<double>(conv_.n) * conv_.c * pixels * 4;
    kernels::Chain bounded = chain;
    if (x8) set_pointwise_rounding(bounded, w, bias, conv_.c);
    // Bytes to bytes with the values by input byte (only the final value
    // stored): one lookup a value.
    const kernels::Pattern p = chain.pattern;
    if (table_ && x8 && chain.final_bytes && p != kernels::Pattern::kGeneric) {
      const int8_t* table = table_->data();
      parallel(ctx, conv_.n * conv_.c, threads_for(ctx, work / 8), [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) {
          t_->lookup_bytes(x8 + i * pixels, pixels, table + (i % conv_.c) * 256,
                           chain.final_bytes + i * pixels);
        }
      });
      return;
    }
    // Planes of at least a vector: whole runs of channels a call (a vector
    // crossing into the next plane), else plane by plane.
    if (t_->scale_channels_chain && pixels >= t_->lanes &&
        (p == kernels::Pattern::kStore || p == kernels::Pattern::kClamp ||
         p == kernels::Pattern::kShiftClamp || p == kernels::Pattern::kRequant)) {
      parallel(ctx, conv_.n * conv_.c, threads_for(ctx, work), [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e;) {
          // Channels c0 .. c1 of image i / C, up to e.
          const int64_t c0 = i % conv_.c, c1 = std::min(conv_.c, c0 + (e - i));
          t_->scale_channels_chain(bounded, x, x8, w, bias, pixels, c0, c1, i * pixels);
          i += c1 - c0;
        }
      });
      return;
    }
    parallel(ctx, conv_.n * conv_.c, threads_for(ctx, work), [&](int64_t b, int64_t e, int thread) {
      int32_t* sum = reinterpret_cast<int32_t*>(ctx.scratch[thread]);
      for (int64_t i = b; i < e; ++i) {
        const int64_t n = i / conv_.c, c = i % conv_.c, flat = i * pixels;
        const int32_t add = bias ? bias[c] : 0;
        const int8_t* p8 = x8 ? x8 + flat : nullptr;
        if (t_->scale_add_chain(bounded, x + flat, p8, w[c], x + flat, p8, 0, add, pixels, flat, c)) {
          continue;
        }
        t_->scale_add(x + flat, p8, w[c], x + flat, p8, 0, pixels, sum);
        if (!chain.final_bytes) {
          t_->chain(chain, sum, pixels, flat, n, c, add);
          continue;
        }
        kernels::Chain local = chain;
        local.final_write = sum;
        t_->chain(local, sum, pixels, 0, n, c, add);
        narrow(sum, pixels, chain.final_bytes + flat);
      }
    });
  }

  std::vector<uint32_t> nodes_;
  const kernels::Table* t_;
  PointwiseTable table_;  // pointwise: the values by input byte, or null
  ConvShape conv_;
  int64_t x_, w_, bias_;
  PhaseGrid pg_;
  bool copy_first_ = false;
  bool pointwise_ = false;
  bool x_bytes_ = false;
  kernels::DepthwiseBytes bytes_;  // ok: the byte kernel runs
  std::vector<uint32_t> wpack_;    // [channel][filter row][chunk]
  std::vector<int32_t> comp_;      // [channel]: 128 * sum of the taps
  kernels::StackedPlanes stacked_; // ok: every channel's filter the same, the planes stack
};

}  // namespace

std::unique_ptr<Step> make_conv2d_depthwise_step(std::vector<uint32_t> nodes,
                                                 const kernels::Table* t, const ConvShape& g,
                                                 int64_t x_eid, int64_t w_eid, int64_t bias_eid,
                                                 ChainPlan chain, bool copy_first,
                                                 const ParamView* weight, PointwiseTable table) {
  return std::make_unique<DepthwiseStep>(std::move(nodes), t, g, x_eid, w_eid, bias_eid,
                                         std::move(chain), copy_first, weight, std::move(table));
}

}  // namespace planning
}  // namespace cvm
