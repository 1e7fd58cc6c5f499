// The plan builder and the fast steps.
//
// Storage. Every entry is a view at offset 0 of the pool its storage_id
// names, exactly as in the reference, so the bytes a node reads depend on
// every earlier write to that pool. A fused group must therefore keep, for
// every read anyone makes, the bytes the plain executor would have there:
//
//  - Within a group, each element goes through the group's nodes in node
//    order: the value of node k at element i is computed, stored (when the
//    entry is written), then node k + 1 reads its other operand at element i
//    from memory. Element-wise operands that have the output's shape are
//    read at the same index only, so they may live in storage the group
//    writes (in place, as the plain executor would leave it at that index).
//  - Any other input (a convolution's data, weights and bias, a broadcast
//    operand read per channel) is read at many indices: no storage the group
//    writes may hold it, else the group is cut before that node (or the
//    node runs plain).
//  - An intermediate entry is left unwritten only when a timeline of every
//    access of the inference (reads and writes of every step, then the heads)
//    shows that no read of its pool reaches the stale bytes before a write
//    that covers them, and that no stale bytes remain at the end (pools
//    persist into the next inference). Writes of operators not known to
//    write their whole output count as not covering anything.
#include "runtime/plan.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "graph/error.h"

namespace cvm {
namespace {

using kernels::BinOp;
using kernels::OperandMode;
using kernels::StageOp;

constexpr int64_t kNoEntry = -1;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// ---------------------------------------------------------------------------
// Chains as planned (entry ids) and as run (pointers).

struct StagePlan {
  kernels::Stage proto;  // operand and write pointers unset
  int64_t operand_eid = kNoEntry;
  int64_t write_eid = kNoEntry;
};

struct ChainPlan {
  int64_t source_write_eid = kNoEntry;
  std::vector<StagePlan> stages;
  int64_t final_eid = kNoEntry;  // the entry of the group's last node

  kernels::Chain bind(const ExecContext& ctx) const {
    kernels::Chain c;
    c.source_write = source_write_eid == kNoEntry ? nullptr : ctx.data(source_write_eid);
    c.num_stages = static_cast<int>(stages.size());
    for (size_t i = 0; i < stages.size(); ++i) {
      c.stages[i] = stages[i].proto;
      if (stages[i].operand_eid != kNoEntry) c.stages[i].operand = ctx.data(stages[i].operand_eid);
      c.stages[i].write = stages[i].write_eid == kNoEntry ? nullptr : ctx.data(stages[i].write_eid);
    }
    return c;
  }
};

// A step that ends in a chain (whose writes the planner may drop).
class FusedStep : public Step {
 public:
  explicit FusedStep(ChainPlan chain) : chain_(std::move(chain)) {}
  ChainPlan& chain_plan() { return chain_; }

 protected:
  ChainPlan chain_;
};

// Runs fn(begin, end, thread) over [0, n) on `threads` threads of the
// context (1: the caller, without waking anyone).
template <typename F>
void parallel(const ExecContext& ctx, int64_t n, int threads, const F& fn) {
  if (n <= 0) return;
  kernels::ThreadPool* pool = threads > 1 && n > 1 ? ctx.pool() : nullptr;
  if (!pool) {
    fn(int64_t{0}, n, 0);
    return;
  }
  pool->run(n, fn);
}

// How many threads a step of `work` elementary operations uses.
int threads_for(const ExecContext& ctx, double work) {
  constexpr double kPerThread = 1 << 17;  // below this, waking a thread costs more
  const int t = ctx.threads();
  if (t <= 1 || work < kPerThread) return 1;
  return t;
}

// ---------------------------------------------------------------------------
// Plain node.

class PlainStep : public Step {
 public:
  PlainStep(const GraphNode& node, uint32_t nid) : node_(node), nid_(nid) {}
  void run(ExecContext& ctx) const override {
    node_.op->run((*ctx.node_inputs)[nid_], (*ctx.node_outputs)[nid_], *ctx.workspace);
  }
  const char* kind() const override { return "plain"; }
  std::vector<uint32_t> nodes() const override { return {nid_}; }

 private:
  const GraphNode& node_;
  uint32_t nid_;
};

// ---------------------------------------------------------------------------
// Element-wise chain over a whole tensor.

class ChainStep : public FusedStep {
 public:
  ChainStep(std::vector<uint32_t> nodes, const kernels::Table* t, int64_t source_eid,
            ChainPlan chain, const Shape& shape)
      : FusedStep(std::move(chain)), nodes_(std::move(nodes)), t_(t), source_(source_eid) {
    size_ = shape_size(shape);
    if (shape.size() == 4) {
      n_ = shape[0];
      c_ = shape[1];
      plane_ = shape[2] * shape[3];
    } else {
      n_ = 1;
      c_ = 1;
      plane_ = size_;
    }
  }

  void run(ExecContext& ctx) const override {
    const kernels::Chain chain = chain_.bind(ctx);
    const int32_t* src = ctx.data(source_);
    // Pieces: whole planes, or slices of one long plane.
    constexpr int64_t kPiece = 1 << 14;
    const int64_t per_plane = ceil_div(plane_, kPiece);
    const int64_t pieces = n_ * c_ * per_plane;
    const int threads = threads_for(ctx, static_cast<double>(size_) * 4);
    parallel(ctx, pieces, threads, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t plane = i / per_plane;
        const int64_t begin = (i % per_plane) * kPiece;
        const int64_t len = std::min(kPiece, plane_ - begin);
        const int64_t flat = plane * plane_ + begin;
        t_->chain(chain, src + flat, len, flat, plane / c_, plane % c_, 0);
      }
    });
  }
  const char* kind() const override { return "chain"; }
  std::vector<uint32_t> nodes() const override { return nodes_; }

 private:
  std::vector<uint32_t> nodes_;
  const kernels::Table* t_;
  int64_t source_;
  int64_t size_ = 0, n_ = 1, c_ = 1, plane_ = 1;
};

// ---------------------------------------------------------------------------
// Convolution geometry shared by the convolution steps.

struct ConvShape {
  int64_t n = 0, c = 0, h = 0, w = 0;   // data
  int64_t o = 0, fh = 0, fw = 0;        // filters
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  int64_t oh = 0, ow = 0;
  int64_t pixels() const { return oh * ow; }
};

// Copies plane `x` (h x w) into `phases`: the plane padded by (ph, pw) with
// `pad` up to hp x wp, its columns split by their residue modulo `s`; phase
// r holds padded columns r, r + s, ...; rows `row_stride` apart, phases
// `phase_stride` apart.
void fill_phases(const int32_t* x, int64_t h, int64_t w, int64_t ph, int64_t pw, int64_t hp,
                 int64_t wp, int64_t s, int32_t pad, int64_t row_stride, int64_t phase_stride,
                 int32_t* phases) {
  for (int64_t r = 0; r < s; ++r) {
    int32_t* phase = phases + r * phase_stride;
    for (int64_t i = 0; i < hp; ++i) {
      int32_t* row = phase + i * row_stride;
      const int64_t xi = i - ph;
      if (xi < 0 || xi >= h) {
        std::fill_n(row, row_stride, pad);
        continue;
      }
      const int32_t* src = x + xi * w;
      if (s == 1) {
        std::fill_n(row, pw, pad);
        std::memcpy(row + pw, src, static_cast<size_t>(w) * sizeof(int32_t));
        std::fill(row + pw + w, row + row_stride, pad);
        continue;
      }
      int64_t j = 0;
      for (int64_t col = r; col < wp; col += s, ++j) {
        const int64_t xj = col - pw;
        row[j] = (xj >= 0 && xj < w) ? src[xj] : pad;
      }
      std::fill(row + j, row + row_stride, pad);
    }
  }
}

struct PhaseLayout {
  int64_t hp = 0, wp = 0, row_stride = 0, phase_stride = 0, words = 0;
  PhaseLayout(int64_t hp_, int64_t wp_, int64_t s, int lanes) : hp(hp_), wp(wp_) {
    row_stride = ceil_div(wp, s) + lanes;
    phase_stride = hp * row_stride;
    words = s * phase_stride;
  }
};

// ---------------------------------------------------------------------------
// conv2d with groups == 1 as an int8 matrix product.
//
// The data is packed once per inference into words of `group` channels
// ("xq": [n][channel group][padded row][padded column]); for each block of
// nr * lanes output pixels, the rows of the im2col matrix (channel group,
// filter row, filter column) are gathered from xq in chunks of kc rows and
// multiplied with the pre-packed weights ([oc block][k][mr] words).

class ConvGemmStep : public FusedStep {
 public:
  ConvGemmStep(std::vector<uint32_t> nodes, const kernels::Table* t, const ConvShape& g,
               int64_t x_eid, int64_t bias_eid, const std::vector<int32_t>& weight,
               ChainPlan chain)
      : FusedStep(std::move(chain)), nodes_(std::move(nodes)), t_(t), g_(g), x_(x_eid),
        bias_(bias_eid) {
    const int64_t group = t->group;
    cg_ = ceil_div(g.c, group);
    taps_ = g.fh * g.fw;
    k_ = cg_ * taps_;
    direct_ = g.fh == 1 && g.fw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
    hp_ = g.h + 2 * g.ph;
    wp_ = g.w + 2 * g.pw;
    nb_ = static_cast<int64_t>(t->nr) * t->lanes;
    blocks_ = ceil_div(g.pixels(), nb_);
    ob_ = ceil_div(g.o, t->mr);
    // Chunks of the reduction: an im2col chunk of about 32 KiB.
    const int64_t kc_max = std::max<int64_t>(16, (int64_t(32) << 10) / (nb_ * 4));
    const int64_t chunks = ceil_div(k_, kc_max);
    kc_ = ceil_div(k_, chunks);

    // Weights: A[ob][k][m] = word of channels (cg*group ..) at tap (fh, fw)
    // of filter ob*mr + m; zero beyond the filters. The reference reads the
    // weight as a (O, C*FH*FW) matrix.
    const int64_t mr = t->mr;
    a_.assign(static_cast<size_t>(ob_ * k_ * mr), 0u);
    comp_.assign(static_cast<size_t>(ob_ * mr), 0);
    const int64_t row = g.c * taps_;
    for (int64_t oc = 0; oc < g.o; ++oc) {
      const int32_t* wr = weight.data() + oc * row;
      uint32_t sum = 0;
      for (int64_t i = 0; i < row; ++i) sum += static_cast<uint32_t>(static_cast<int8_t>(wr[i]));
      if (t->offset_data) comp_[oc] = static_cast<int32_t>(sum * 128u);
      for (int64_t cg = 0; cg < cg_; ++cg) {
        const int channels = static_cast<int>(std::min<int64_t>(group, g.c - cg * group));
        for (int64_t tap = 0; tap < taps_; ++tap) {
          const int64_t k = cg * taps_ + tap;
          a_[static_cast<size_t>(((oc / mr) * k_ + k) * mr + oc % mr)] =
              t->weight_word(wr + cg * group * taps_ + tap, taps_, channels);
        }
      }
    }
  }

  size_t shared_words() const override {
    return static_cast<size_t>(g_.n * cg_ * plane_words() + nb_);
  }
  size_t thread_words() const override {
    const int64_t im2col = direct_ ? 0 : kc_ * nb_;
    return static_cast<size_t>(im2col + ob_ * t_->mr * nb_);
  }
  const char* kind() const override { return "conv_gemm"; }
  std::vector<uint32_t> nodes() const override { return nodes_; }

  void run(ExecContext& ctx) const override {
    const kernels::Chain chain = chain_.bind(ctx);
    const int32_t* x = ctx.data(x_);
    const int32_t* bias = bias_ == kNoEntry ? nullptr : ctx.data(bias_);
    uint32_t* xq = ctx.shared;
    const double macs = static_cast<double>(g_.n) * g_.o * g_.pixels() * k_ * t_->group;
    const int threads = threads_for(ctx, macs / 16);

    // 1. Pack the data.
    const int64_t planes = g_.n * cg_;
    parallel(ctx, planes, threads, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) pack_plane(x, i / cg_, i % cg_, xq + i * plane_words());
    });
    std::fill_n(xq + planes * plane_words(), nb_, t_->pad_word);

    // 2. Products, by units of (image, pixel block, run of oc blocks),
    // split between threads by their cost.
    const int64_t segments =
        threads > 1 ? std::min(ob_, ceil_div(int64_t(4) * threads, g_.n * blocks_)) : 1;
    const int64_t units = g_.n * blocks_ * segments;
    auto unit_cost = [&](int64_t u) {
      const int64_t block = (u / segments) % blocks_;
      const int64_t s = u % segments;
      const int64_t obs = (ob_ * (s + 1)) / segments - (ob_ * s) / segments;
      const int64_t np = std::min(nb_, g_.pixels() - block * nb_);
      return obs * (ceil_div(np, t_->lanes) + 1);  // +1: the per-tile overheads
    };
    int64_t total = 0;
    for (int64_t u = 0; u < units; ++u) total += unit_cost(u);
    parallel(ctx, threads, threads, [&](int64_t tb, int64_t te, int thread) {
      for (int64_t tt = tb; tt < te; ++tt) {
        // Units whose cost prefix starts in this thread's share.
        const int64_t lo = total * tt / threads, hi = total * (tt + 1) / threads;
        int64_t prefix = 0;
        for (int64_t u = 0; u < units; ++u) {
          const int64_t c = unit_cost(u);
          if (prefix >= lo && prefix < hi) {
            const int64_t s = u % segments;
            run_unit(chain, xq, bias, u / segments / blocks_, (u / segments) % blocks_,
                     (ob_ * s) / segments, (ob_ * (s + 1)) / segments, ctx.scratch[thread]);
          }
          prefix += c;
        }
      }
    });
  }

 private:
  int64_t plane_words() const { return direct_ ? g_.h * g_.w : hp_ * wp_; }

  void pack_plane(const int32_t* x, int64_t n, int64_t cg, uint32_t* dst) const {
    const int64_t group = t_->group;
    const int channels = static_cast<int>(std::min<int64_t>(group, g_.c - cg * group));
    const int64_t plane = g_.h * g_.w;
    const int32_t* src = x + (n * g_.c + cg * group) * plane;
    if (direct_) {
      t_->pack_words(src, plane, channels, plane, dst);
      return;
    }
    for (int64_t i = 0; i < hp_; ++i) {
      uint32_t* row = dst + i * wp_;
      const int64_t xi = i - g_.ph;
      if (xi < 0 || xi >= g_.h) {
        std::fill_n(row, wp_, t_->pad_word);
        continue;
      }
      std::fill_n(row, g_.pw, t_->pad_word);
      t_->pack_words(src + xi * g_.w, plane, channels, g_.w, row + g_.pw);
      std::fill_n(row + g_.pw + g_.w, g_.pw, t_->pad_word);
    }
  }

  // Rows [k0, k0 + kc) of the im2col matrix for pixels [p0, p0 + np) of
  // image n, `ld` words per row (columns beyond np hold the pad word).
  void im2col(const uint32_t* xq, int64_t n, int64_t p0, int64_t np, int64_t k0, int64_t kc,
              uint32_t* out, int64_t ld) const {
    for (int64_t k = k0; k < k0 + kc; ++k) {
      const int64_t cg = k / taps_, tap = k % taps_;
      const int64_t fh = tap / g_.fw, fw = tap % g_.fw;
      const uint32_t* plane = xq + (n * cg_ + cg) * plane_words();
      uint32_t* dst = out + (k - k0) * ld;
      int64_t oh = p0 / g_.ow, ow = p0 % g_.ow;
      for (int64_t j = 0; j < np;) {
        const int64_t run = std::min(np - j, g_.ow - ow);
        const uint32_t* src = plane + (oh * g_.sh + fh * g_.dh) * wp_ + ow * g_.sw + fw * g_.dw;
        if (g_.sw == 1) {
          std::memcpy(dst + j, src, static_cast<size_t>(run) * sizeof(uint32_t));
        } else {
          for (int64_t q = 0; q < run; ++q) dst[j + q] = src[q * g_.sw];
        }
        j += run;
        ow = 0;
        ++oh;
      }
      std::fill(dst + np, dst + ld, t_->pad_word);
    }
  }

  void run_unit(const kernels::Chain& chain, const uint32_t* xq, const int32_t* bias, int64_t n,
                int64_t block, int64_t ob0, int64_t ob1, uint32_t* scratch) const {
    const int64_t p0 = block * nb_;
    const int64_t np = std::min(nb_, g_.pixels() - p0);
    const int nvec = static_cast<int>(ceil_div(np, t_->lanes));
    const int64_t mr = t_->mr;
    uint32_t* bbuf = scratch;
    int32_t* ctile = reinterpret_cast<int32_t*>(scratch + (direct_ ? 0 : kc_ * nb_));
    const int64_t pixels = g_.pixels();
    for (int64_t k0 = 0; k0 < k_; k0 += kc_) {
      const int64_t kc = std::min(kc_, k_ - k0);
      const uint32_t* b;
      int64_t ldb;
      if (direct_) {
        b = xq + (n * cg_ + k0) * pixels + p0;
        ldb = pixels;
      } else {
        im2col(xq, n, p0, np, k0, kc, bbuf, nvec * t_->lanes);
        b = bbuf;
        ldb = nvec * t_->lanes;
      }
      const bool last = k0 + kc >= k_;
      for (int64_t ob = ob0; ob < ob1; ++ob) {
        int32_t* c = ctile + (ob - ob0) * mr * nb_;
        t_->gemm(a_.data() + (ob * k_ + k0) * mr, b, ldb, kc, c, nb_, nvec, k0 > 0);
        if (!last) continue;
        for (int64_t m = 0; m < mr; ++m) {
          const int64_t oc = ob * mr + m;
          if (oc >= g_.o) break;
          const uint32_t add = (bias ? static_cast<uint32_t>(bias[oc]) : 0u) -
                               static_cast<uint32_t>(comp_[oc]);
          t_->chain(chain, c + m * nb_, np, (n * g_.o + oc) * pixels + p0, n, oc,
                    static_cast<int32_t>(add));
        }
      }
    }
  }

  std::vector<uint32_t> nodes_;
  const kernels::Table* t_;
  ConvShape g_;
  int64_t x_, bias_;
  int64_t cg_ = 0, taps_ = 0, k_ = 0, hp_ = 0, wp_ = 0, nb_ = 0, blocks_ = 0, ob_ = 0, kc_ = 0;
  bool direct_ = false;
  std::vector<uint32_t> a_;
  std::vector<int32_t> comp_;
};

// ---------------------------------------------------------------------------
// Depthwise conv2d (groups == channels == filters, one input channel per
// filter): int32 products, as the reference's grouped kernel.

class DepthwiseStep : public FusedStep {
 public:
  DepthwiseStep(std::vector<uint32_t> nodes, const kernels::Table* t, const ConvShape& g,
                int64_t x_eid, int64_t w_eid, int64_t bias_eid, ChainPlan chain)
      : FusedStep(std::move(chain)), nodes_(std::move(nodes)), t_(t), g_(g), x_(x_eid),
        w_(w_eid), bias_(bias_eid),
        layout_(g.h + 2 * g.ph, g.w + 2 * g.pw, g.sw, t->lanes) {}

  size_t thread_words() const override {
    return static_cast<size_t>(layout_.words + g_.pixels());
  }
  const char* kind() const override { return "depthwise"; }
  std::vector<uint32_t> nodes() const override { return nodes_; }

  void run(ExecContext& ctx) const override {
    const kernels::Chain chain = chain_.bind(ctx);
    const int32_t* x = ctx.data(x_);
    const int32_t* w = ctx.data(w_);
    const int32_t* bias = bias_ == kNoEntry ? nullptr : ctx.data(bias_);
    const int64_t taps = g_.fh * g_.fw;
    const double work = static_cast<double>(g_.n) * g_.c * g_.pixels() * (taps + 4);
    parallel(ctx, g_.n * g_.c, threads_for(ctx, work), [&](int64_t b, int64_t e, int thread) {
      int32_t* phases = reinterpret_cast<int32_t*>(ctx.scratch[thread]);
      int32_t* out = phases + layout_.words;
      for (int64_t i = b; i < e; ++i) {
        const int64_t n = i / g_.c, c = i % g_.c;
        fill_phases(x + i * g_.h * g_.w, g_.h, g_.w, g_.ph, g_.pw, layout_.hp, layout_.wp, g_.sw,
                    0, layout_.row_stride, layout_.phase_stride, phases);
        t_->depthwise(phases, layout_.phase_stride, layout_.row_stride, w + c * taps, g_.fh,
                      g_.fw, g_.sh, g_.sw, g_.dh, g_.dw, g_.oh, g_.ow, out);
        t_->chain(chain, out, g_.pixels(), i * g_.pixels(), n, c, bias ? bias[c] : 0);
      }
    });
  }

 private:
  std::vector<uint32_t> nodes_;
  const kernels::Table* t_;
  ConvShape g_;
  int64_t x_, w_, bias_;
  PhaseLayout layout_;
};

// ---------------------------------------------------------------------------
// dense with pre-packed int8 weights (when every weight fits int8).

class DenseStep : public FusedStep {
 public:
  DenseStep(std::vector<uint32_t> nodes, const kernels::Table* t, int64_t rows, int64_t depth,
            int64_t units, int64_t x_eid, int64_t bias_eid, const std::vector<int32_t>& weight,
            ChainPlan chain)
      : FusedStep(std::move(chain)), nodes_(std::move(nodes)), t_(t), rows_(rows),
        depth_(depth), units_(units), x_(x_eid), bias_(bias_eid) {
    const int64_t lanes = t->lanes;
    blocks_ = ceil_div(units, lanes);
    w_.assign(static_cast<size_t>(blocks_ * lanes * depth), 0);
    for (int64_t u = 0; u < units; ++u) {
      for (int64_t k = 0; k < depth; ++k) {
        w_[static_cast<size_t>(((u / lanes) * depth + k) * lanes + u % lanes)] =
            static_cast<int8_t>(weight[static_cast<size_t>(u * depth + k)]);
      }
    }
  }

  static bool fits(const std::vector<int32_t>& weight) {
    for (int32_t v : weight) {
      if (v < -128 || v > 127) return false;
    }
    return true;
  }

  size_t thread_words() const override { return static_cast<size_t>(blocks_ * t_->lanes); }
  const char* kind() const override { return "dense"; }
  std::vector<uint32_t> nodes() const override { return nodes_; }

  void run(ExecContext& ctx) const override {
    const kernels::Chain chain = chain_.bind(ctx);
    const int32_t* x = ctx.data(x_);
    const int32_t* bias = bias_ == kNoEntry ? nullptr : ctx.data(bias_);
    const int64_t lanes = t_->lanes;
    // Pieces of up to 8 unit blocks of one row.
    const int64_t per_row = ceil_div(blocks_, 8);
    const double work = static_cast<double>(rows_) * units_ * depth_;
    parallel(ctx, rows_ * per_row, threads_for(ctx, work / 4),
             [&](int64_t b, int64_t e, int thread) {
      int32_t* y = reinterpret_cast<int32_t*>(ctx.scratch[thread]);
      for (int64_t i = b; i < e; ++i) {
        const int64_t m = i / per_row, piece = i % per_row;
        const int64_t u0 = piece * 8 * lanes;
        const int64_t u1 = std::min(units_, u0 + 8 * lanes);
        t_->dense(x + m * depth_, w_.data() + u0 * depth_, depth_, u1 - u0, y);
        if (bias) {
          for (int64_t u = u0; u < u1; ++u) {
            y[u - u0] = static_cast<int32_t>(static_cast<uint32_t>(y[u - u0]) +
                                             static_cast<uint32_t>(bias[u]));
          }
        }
        t_->chain(chain, y, u1 - u0, m * units_ + u0, m, 0, 0);
      }
    });
  }

 private:
  std::vector<uint32_t> nodes_;
  const kernels::Table* t_;
  int64_t rows_, depth_, units_, x_, bias_;
  int64_t blocks_ = 0;
  std::vector<int8_t> w_;
};

// ---------------------------------------------------------------------------
// max_pool2d.

class MaxPoolStep : public Step {
 public:
  MaxPoolStep(uint32_t nid, const kernels::Table* t, const ConvShape& g, int64_t x_eid,
              int64_t y_eid)
      : nid_(nid), t_(t), g_(g), x_(x_eid), y_(y_eid),
        layout_(std::max(g.ph + g.h, (g.oh - 1) * g.sh + g.fh),
                std::max(g.pw + g.w, (g.ow - 1) * g.sw + g.fw), g.sw, t->lanes) {}

  size_t thread_words() const override { return static_cast<size_t>(layout_.words); }
  const char* kind() const override { return "max_pool"; }
  std::vector<uint32_t> nodes() const override { return {nid_}; }

  void run(ExecContext& ctx) const override {
    const int32_t* x = ctx.data(x_);
    int32_t* y = ctx.data(y_);
    const double work = static_cast<double>(g_.n) * g_.c * (g_.h * g_.w + g_.pixels() * 4);
    parallel(ctx, g_.n * g_.c, threads_for(ctx, work), [&](int64_t b, int64_t e, int thread) {
      int32_t* phases = reinterpret_cast<int32_t*>(ctx.scratch[thread]);
      for (int64_t i = b; i < e; ++i) {
        fill_phases(x + i * g_.h * g_.w, g_.h, g_.w, g_.ph, g_.pw, layout_.hp, layout_.wp, g_.sw,
                    std::numeric_limits<int32_t>::min(), layout_.row_stride,
                    layout_.phase_stride, phases);
        t_->max_pool(phases, layout_.phase_stride, layout_.row_stride, g_.fh, g_.fw, g_.sh,
                     g_.sw, g_.oh, g_.ow, y + i * g_.pixels());
      }
    });
  }

 private:
  uint32_t nid_;
  const kernels::Table* t_;
  ConvShape g_;
  int64_t x_, y_;
  PhaseLayout layout_;
};

// ---------------------------------------------------------------------------
// The planner.

// Operators whose kernel writes every element of its output (a write by any
// other operator is assumed to leave old bytes in place).
bool writes_whole_output(const std::string& op) {
  static const std::set<std::string> kWhole = {
      "conv2d", "dense", "max_pool2d", "upsampling", "relu", "abs", "negative",
      "cvm_precision", "clip", "cvm_clip", "cvm_right_shift", "cvm_left_shift",
      "elemwise_add", "elemwise_sub", "broadcast_add", "broadcast_sub", "broadcast_mul",
      "broadcast_max", "broadcast_div", "broadcast_greater", "flatten", "reshape",
      "concatenate", "sum", "max"};
  return kWhole.count(op) != 0;
}

struct Access {
  int64_t eid;
  enum Type : uint8_t { kRead, kWrite, kWriteWhole } type;
  int candidate;  // >= 0: a write the group may leave out
  int stage = -1;  // of a candidate: its stage, -1 for the source's own entry
  size_t step = 0;
};

class Planner {
 public:
  Planner(const Graph& g, const kernels::Table* t, ParamLookup params, const void* params_ctx)
      : g_(g), t_(t), params_(params), params_ctx_(params_ctx) {
    // Which storage ids nodes write, and how many entries use each.
    for (uint32_t nid = 0; nid < g.nodes.size(); ++nid) {
      const GraphNode& node = g.nodes[nid];
      for (uint32_t i = 0; i < node.num_outputs; ++i) {
        const int sid = g.storage_id[g.entry_id(nid, i)];
        users_[sid]++;
        if (!node.is_variable() || node.is_data()) written_[sid] = true;
      }
    }
    for (uint32_t nid = 0; nid < g.nodes.size(); ++nid) {
      if (!g.nodes[nid].is_variable()) order_.push_back(nid);
    }
  }

  std::unique_ptr<Plan> build() {
    auto plan = std::make_unique<Plan>();
    std::vector<std::unique_ptr<Step>> steps;
    std::vector<std::vector<Access>> step_accesses;
    for (size_t i = 0; i < order_.size();) {
      std::vector<Access> acc;
      size_t used = 0;
      std::unique_ptr<Step> step;
      if (t_) step = try_fast(i, &used, &acc);
      if (!step) {
        acc.clear();
        const uint32_t nid = order_[i];
        step = std::make_unique<PlainStep>(g_.nodes[nid], nid);
        plain_accesses(nid, &acc);
        used = 1;
      }
      for (Access& a : acc) a.step = steps.size();
      steps.push_back(std::move(step));
      step_accesses.push_back(std::move(acc));
      i += used;
    }
    for (const Access* a : decide_skips(step_accesses)) {
      ChainPlan& chain = static_cast<FusedStep*>(steps[a->step].get())->chain_plan();
      if (a->stage < 0) {
        chain.source_write_eid = kNoEntry;
      } else {
        chain.stages[static_cast<size_t>(a->stage)].write_eid = kNoEntry;
      }
    }

    plan->steps = std::move(steps);
    for (auto& s : plan->steps) {
      plan->shared_words = std::max(plan->shared_words, s->shared_words());
      plan->thread_words = std::max(plan->thread_words, s->thread_words());
      plan->summary.steps++;
      if (std::string(s->kind()) != "plain") {
        plan->summary.fast_steps++;
        plan->summary.fused_nodes += static_cast<int>(s->nodes().size()) - 1;
      }
    }
    plan->summary.skipped_writes = skipped_count_;
    return plan;
  }

 private:
  int64_t eid(const EntryRef& e) const { return g_.entry_id(e); }
  int sid(int64_t e) const { return g_.storage_id[static_cast<size_t>(e)]; }
  const Shape& shape(int64_t e) const { return g_.shapes[static_cast<size_t>(e)]; }
  int64_t bytes(int64_t e) const { return shape_size(shape(e)) * 4; }

  void plain_accesses(uint32_t nid, std::vector<Access>* acc) const {
    const GraphNode& node = g_.nodes[nid];
    for (const EntryRef& e : node.inputs) acc->push_back({eid(e), Access::kRead, -1});
    const Access::Type w = writes_whole_output(node.func_name) ? Access::kWriteWhole : Access::kWrite;
    for (uint32_t i = 0; i < node.num_outputs; ++i) {
      acc->push_back({g_.entry_id(nid, i), w, -1});
    }
  }

  // A parameter whose pool holds nothing else and that nothing writes: its
  // values are fixed from load on.
  const std::vector<int32_t>* constant_param(const EntryRef& e) const {
    const GraphNode& node = g_.nodes[e.node_id];
    if (!node.is_variable() || node.is_data() || e.index != 0) return nullptr;
    const int s = sid(eid(e));
    if (written_.count(s) || users_.at(s) != 1) return nullptr;
    const std::vector<int32_t>* v = params_(params_ctx_, e.node_id);
    if (!v || static_cast<int64_t>(v->size()) != shape_size(shape(eid(e)))) return nullptr;
    return v;
  }

  // Extends a group from its source: the element-wise nodes that follow.
  // `readonly` holds storages that the group must not write (read at many
  // indices); `link` is the entry carrying the running value.
  void extend_chain(size_t next, int64_t link, bool planes_allowed, std::set<int>* readonly,
                    std::set<int>* written, ChainPlan* chain, std::vector<uint32_t>* nodes,
                    std::vector<Access>* acc, size_t* used) {
    const Shape link_shape = shape(link);
    for (size_t j = next; j < order_.size(); ++j) {
      if (chain->stages.size() >= static_cast<size_t>(kernels::kMaxStages)) break;
      const uint32_t nid = order_[j];
      StagePlan st;
      int64_t operand = kNoEntry;
      if (!stage_for(nid, link, link_shape, planes_allowed, &st, &operand)) break;
      const int64_t out = g_.entry_id(nid, 0);
      if (readonly->count(sid(out))) break;
      if (st.proto.mode == OperandMode::kPlane &&
          st.proto.op == StageOp::kBinary) {
        if (written->count(sid(operand)) || sid(operand) == sid(out)) break;
        readonly->insert(sid(operand));
      }
      written->insert(sid(out));
      if (operand != kNoEntry) acc->push_back({operand, Access::kRead, -1});
      st.operand_eid = operand;
      st.write_eid = out;
      acc->push_back({out, Access::kWriteWhole, 0, static_cast<int>(chain->stages.size())});
      chain->stages.push_back(st);
      chain->final_eid = out;
      nodes->push_back(nid);
      ++*used;
      link = out;
    }
  }

  // The stage node `nid` is when it continues a chain whose value is entry
  // `link`.
  bool stage_for(uint32_t nid, int64_t link, const Shape& link_shape, bool planes_allowed,
                 StagePlan* st, int64_t* operand) const {
    const GraphNode& node = g_.nodes[nid];
    if (node.num_outputs != 1) return false;
    const int64_t out = g_.entry_id(nid, 0);
    if (shape(out) != link_shape) return false;
    const KernelInfo k = node.op->kernel_info();
    kernels::Stage& s = st->proto;
    switch (k.kind) {
      case KernelInfo::Kind::kClamp:
        if (node.inputs.size() != 1 || eid(node.inputs[0]) != link) return false;
        s.op = StageOp::kClamp;
        s.lo = static_cast<int32_t>(k.a);
        s.hi = static_cast<int32_t>(k.b);
        return true;
      case KernelInfo::Kind::kRightShift: {
        if (node.inputs.size() != 1 || eid(node.inputs[0]) != link) return false;
        const int precision = static_cast<int>(k.a), shift = static_cast<int>(k.b);
        const int32_t hi = static_cast<int32_t>((int64_t{1} << (precision - 1)) - 1);
        s.shift = shift;
        s.hi = hi;
        if (hi == 0) {
          s.op = StageOp::kZero;
        } else if (shift >= 31) {
          s.op = StageOp::kShift31;
        } else if (precision + shift >= 32) {
          s.op = StageOp::kShiftRound;
        } else {
          s.op = StageOp::kShiftSat;
          const int64_t step = int64_t{1} << (shift - 1);
          s.x_lo = static_cast<int32_t>((-2 * int64_t{hi} - 1) * step);
          s.x_hi = static_cast<int32_t>((2 * int64_t{hi} - 1) * step);
        }
        return true;
      }
      case KernelInfo::Kind::kBinary: {
        if (node.inputs.size() != 2) return false;
        const int64_t a = eid(node.inputs[0]), b = eid(node.inputs[1]);
        if ((a == link) == (b == link)) return false;  // neither, or both
        const bool link_first = a == link;
        *operand = link_first ? b : a;
        s.op = StageOp::kBinary;
        switch (k.a) {
          case 0: s.bin = BinOp::kAdd; break;
          case 1: s.bin = link_first ? BinOp::kSub : BinOp::kRSub; break;
          case 2: s.bin = BinOp::kMul; break;
          case 3: s.bin = BinOp::kMax; break;
          default: return false;
        }
        const Shape& os = shape(*operand);
        if (os == link_shape) {
          s.mode = OperandMode::kSame;
          return true;
        }
        if (!k.b || !planes_allowed || link_shape.size() != 4 || os.size() > 4) return false;
        Shape s4(4 - os.size(), 1);
        s4.insert(s4.end(), os.begin(), os.end());
        if (s4[2] != 1 || s4[3] != 1) return false;
        if (s4[1] != 1 && s4[1] != link_shape[1]) return false;
        if (s4[0] != 1 && s4[0] != link_shape[0]) return false;
        s.mode = OperandMode::kPlane;
        s.stride_n = s4[0] == 1 ? 0 : s4[1];
        s.stride_c = s4[1] == 1 ? 0 : 1;
        return true;
      }
      default:
        return false;
    }
  }

  std::unique_ptr<Step> try_fast(size_t i, size_t* used, std::vector<Access>* acc) {
    const uint32_t nid = order_[i];
    const GraphNode& node = g_.nodes[nid];
    const KernelInfo k = node.op->kernel_info();
    if (node.num_outputs != 1) return nullptr;
    const int64_t out = g_.entry_id(nid, 0);
    switch (k.kind) {
      case KernelInfo::Kind::kConv2d: return try_conv(i, k, out, used, acc);
      case KernelInfo::Kind::kDense: return try_dense(i, k, out, used, acc);
      case KernelInfo::Kind::kMaxPool2d: return try_max_pool(nid, k, out, used, acc);
      case KernelInfo::Kind::kClamp:
      case KernelInfo::Kind::kRightShift:
      case KernelInfo::Kind::kBinary: return try_chain(i, out, used, acc);
      default: return nullptr;
    }
  }

  std::unique_ptr<Step> try_conv(size_t i, const KernelInfo& k, int64_t out, size_t* used,
                                 std::vector<Access>* acc) {
    const uint32_t nid = order_[i];
    const GraphNode& node = g_.nodes[nid];
    const Shape& xs = shape(eid(node.inputs[0]));
    const Shape& ws = shape(eid(node.inputs[1]));
    const Shape& ys = shape(out);
    if (xs.size() != 4 || ws.size() != 4 || ys.size() != 4) return nullptr;
    ConvShape g;
    g.n = xs[0]; g.c = xs[1]; g.h = xs[2]; g.w = xs[3];
    g.o = ws[0]; g.fh = ws[2]; g.fw = ws[3];
    g.sh = k.strides[0]; g.sw = k.strides[1];
    g.ph = k.padding[0]; g.pw = k.padding[1];
    g.dh = k.dilation[0]; g.dw = k.dilation[1];
    g.oh = (g.h + 2 * g.ph - ((g.fh - 1) * g.dh + 1)) / g.sh + 1;
    g.ow = (g.w + 2 * g.pw - ((g.fw - 1) * g.dw + 1)) / g.sw + 1;
    if (ys != Shape{g.n, g.o, g.oh, g.ow}) return nullptr;
    // Keep the packed data and tiles of sane size.
    const int64_t padded = (g.h + 2 * g.ph) * (g.w + 2 * g.pw);
    if (g.n * g.c * padded > (int64_t(1) << 28) || g.o > (int64_t(1) << 20)) return nullptr;

    const bool depthwise = k.groups > 1 && k.groups == g.c && g.o == g.c && ws[1] == 1;
    if (k.groups != 1 && !depthwise) return nullptr;
    if (k.groups == 1 && ws[1] != g.c) return nullptr;

    std::set<int> readonly, written;
    for (const EntryRef& e : node.inputs) {
      readonly.insert(sid(eid(e)));
      acc->push_back({eid(e), Access::kRead, -1});
    }
    if (readonly.count(sid(out))) return nullptr;
    written.insert(sid(out));
    const std::vector<int32_t>* weight = nullptr;
    if (!depthwise) {
      weight = constant_param(node.inputs[1]);
      if (!weight) return nullptr;
    }
    const int64_t bias = k.use_bias ? eid(node.inputs[2]) : kNoEntry;
    if (bias != kNoEntry && shape_size(shape(bias)) < g.o) return nullptr;

    ChainPlan chain;
    chain.source_write_eid = out;
    chain.final_eid = out;
    acc->push_back({out, Access::kWriteWhole, 0});
    std::vector<uint32_t> nodes{nid};
    *used = 1;
    extend_chain(i + 1, out, true, &readonly, &written, &chain, &nodes, acc, used);
    const int64_t x = eid(node.inputs[0]);
    if (depthwise) {
      return std::make_unique<DepthwiseStep>(nodes, t_, g, x, eid(node.inputs[1]), bias,
                                             std::move(chain));
    }
    return std::make_unique<ConvGemmStep>(nodes, t_, g, x, bias, *weight, std::move(chain));
  }

  std::unique_ptr<Step> try_dense(size_t i, const KernelInfo& k, int64_t out, size_t* used,
                                  std::vector<Access>* acc) {
    const uint32_t nid = order_[i];
    const GraphNode& node = g_.nodes[nid];
    const Shape& xs = shape(eid(node.inputs[0]));
    const Shape& ws = shape(eid(node.inputs[1]));
    const Shape& ys = shape(out);
    if (xs.size() != 2 || ws.size() != 2 || ys != Shape{xs[0], ws[0]} || ws[1] != xs[1]) {
      return nullptr;
    }
    const std::vector<int32_t>* weight = constant_param(node.inputs[1]);
    if (!weight || !DenseStep::fits(*weight)) return nullptr;
    std::set<int> readonly, written;
    for (const EntryRef& e : node.inputs) {
      readonly.insert(sid(eid(e)));
      acc->push_back({eid(e), Access::kRead, -1});
    }
    if (readonly.count(sid(out))) return nullptr;
    const int64_t bias = k.use_bias ? eid(node.inputs[2]) : kNoEntry;
    if (bias != kNoEntry && shape_size(shape(bias)) < ws[0]) return nullptr;
    written.insert(sid(out));
    ChainPlan chain;
    chain.source_write_eid = out;
    chain.final_eid = out;
    acc->push_back({out, Access::kWriteWhole, 0});
    std::vector<uint32_t> nodes{nid};
    *used = 1;
    extend_chain(i + 1, out, false, &readonly, &written, &chain, &nodes, acc, used);
    return std::make_unique<DenseStep>(nodes, t_, xs[0], xs[1], ws[0], eid(node.inputs[0]),
                                       bias, *weight, std::move(chain));
  }

  std::unique_ptr<Step> try_max_pool(uint32_t nid, const KernelInfo& k, int64_t out,
                                     size_t* used, std::vector<Access>* acc) {
    const GraphNode& node = g_.nodes[nid];
    const int64_t x = eid(node.inputs[0]);
    const Shape& xs = shape(x);
    const Shape& ys = shape(out);
    if (xs.size() != 4 || ys.size() != 4 || sid(x) == sid(out)) return nullptr;
    ConvShape g;
    g.n = xs[0]; g.c = xs[1]; g.h = xs[2]; g.w = xs[3];
    g.fh = k.a; g.fw = k.b;
    g.sh = k.strides[0]; g.sw = k.strides[1];
    g.ph = k.padding[0]; g.pw = k.padding[1];
    g.oh = ys[2]; g.ow = ys[3];
    if (ys[0] != g.n || ys[1] != g.c) return nullptr;
    if ((g.h + 2 * g.ph) * (g.w + 2 * g.pw) > (int64_t(1) << 26) || g.sw > 64) return nullptr;
    acc->push_back({x, Access::kRead, -1});
    acc->push_back({out, Access::kWriteWhole, -1});
    *used = 1;
    return std::make_unique<MaxPoolStep>(nid, t_, g, x, out);
  }

  std::unique_ptr<Step> try_chain(size_t i, int64_t out, size_t* used, std::vector<Access>* acc) {
    const uint32_t nid = order_[i];
    const GraphNode& node = g_.nodes[nid];
    const Shape& os = shape(out);
    // The source: the input with the output's shape (the first one that has
    // it); the node is then the chain's first stage.
    int64_t source = kNoEntry;
    for (const EntryRef& e : node.inputs) {
      if (shape(eid(e)) == os) {
        source = eid(e);
        break;
      }
    }
    if (source == kNoEntry) return nullptr;
    std::set<int> readonly, written;
    ChainPlan chain;
    std::vector<uint32_t> nodes;
    acc->push_back({source, Access::kRead, -1});
    *used = 0;
    extend_chain(i, source, os.size() == 4, &readonly, &written, &chain, &nodes, acc, used);
    if (*used == 0) {
      acc->clear();
      return nullptr;
    }
    return std::make_unique<ChainStep>(nodes, t_, source, std::move(chain), os);
  }

  // Which writes of the groups can be left out (see the top of the file).
  std::vector<const Access*> decide_skips(std::vector<std::vector<Access>>& step_accesses) {
    std::vector<Access*> seq;
    for (auto& acc : step_accesses) {
      for (Access& a : acc) seq.push_back(&a);
    }
    std::vector<Access> heads;
    for (const EntryRef& e : g_.heads) heads.push_back({eid(e), Access::kRead, -1});
    for (Access& a : heads) seq.push_back(&a);

    // Candidates, numbered in order; accesses by pool.
    std::vector<Access*> candidates;
    std::map<int, std::vector<const Access*>> by_pool;
    for (Access* a : seq) {
      if (a->candidate >= 0) {
        a->candidate = static_cast<int>(candidates.size());
        candidates.push_back(a);
      }
      by_pool[sid(a->eid)].push_back(a);
    }
    std::vector<bool> skipped(candidates.size(), false);
    std::vector<const Access*> out;
    for (size_t c = 0; c < candidates.size(); ++c) {
      skipped[c] = true;
      if (pool_consistent(by_pool[sid(candidates[c]->eid)], skipped)) {
        out.push_back(candidates[c]);
      } else {
        skipped[c] = false;
      }
    }
    skipped_count_ = static_cast<int>(out.size());
    return out;
  }

  // Simulates one pool: bytes [lo, hi) differ from the plain executor's.
  bool pool_consistent(const std::vector<const Access*>& accesses,
                       const std::vector<bool>& skipped) const {
    int64_t lo = 0, hi = 0;
    for (const Access* a : accesses) {
      const int64_t n = bytes(a->eid);
      if (a->type == Access::kRead) {
        if (lo < hi && n > lo) return false;
      } else if (a->candidate >= 0 && skipped[static_cast<size_t>(a->candidate)]) {
        hi = std::max(hi, n);
        lo = 0;
      } else if (a->type == Access::kWriteWhole && lo < hi) {
        lo = std::max(lo, n);
        if (lo >= hi) lo = hi = 0;
      }
    }
    return !(lo < hi);
  }

 private:
  const Graph& g_;
  const kernels::Table* t_;
  ParamLookup params_;
  const void* params_ctx_;
  std::map<int, int> users_;
  std::map<int, bool> written_;
  std::vector<uint32_t> order_;
  int skipped_count_ = 0;
};

}  // namespace

std::unique_ptr<Plan> make_plan(const Graph& graph, const kernels::Table* table,
                                ParamLookup params, const void* params_ctx) {
  Planner planner(graph, table, params, params_ctx);
  return planner.build();
}

}  // namespace cvm
