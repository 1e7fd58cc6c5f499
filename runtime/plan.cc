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
//    access of an inference (the input's write, reads and writes of every
//    step, then the heads), repeated inference after inference (pools
//    persist), shows that no read of its pool ever reaches stale bytes.
//    Writes of operators not known to write their whole output count as not
//    covering anything.
#include "runtime/plan.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "base/error.h"
#include "base/int_math.h"
#include "base/memory.h"

namespace cvm {
namespace {

using kernels::BinOp;
using kernels::OperandMode;
using kernels::StageOp;

constexpr int64_t kNoEntry = -1;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Byte activations to and from int32 (the int32 values fit int8).
void widen(const int8_t* x, int64_t n, int32_t* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i];
}
void narrow(const int32_t* x, int64_t n, int8_t* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<int8_t>(x[i]);
}

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
  // Byte activations (see Planner::decide_bytes): the final entry, and the
  // residual operand of a kResidual pattern, as int8 at the start of their
  // pools.
  bool final_bytes = false, operand_bytes = false;

  kernels::Chain bind(const ExecContext& ctx) const {
    kernels::Chain c = with_pointers([&](int64_t eid) { return ctx.data(eid); });
    if (final_bytes && c.pattern != kernels::Pattern::kGeneric) {
      c.final_bytes = reinterpret_cast<int8_t*>(c.final_write);
    }
    if (operand_bytes && c.pattern == kernels::Pattern::kResidual) {
      c.operand_bytes = reinterpret_cast<const int8_t*>(c.operand);
    }
    return c;
  }
  // The chain as the kernels will see it, its pointers stand-ins: for its
  // pattern and bounds at plan time.
  kernels::Chain shape_only() const {
    static int32_t stand_in = 0;
    return with_pointers([](int64_t) { return &stand_in; });
  }

 private:
  template <typename F>
  kernels::Chain with_pointers(const F& data) const {
    kernels::Chain c;
    c.source_write = source_write_eid == kNoEntry ? nullptr : data(source_write_eid);
    c.num_stages = static_cast<int>(stages.size());
    for (size_t i = 0; i < stages.size(); ++i) {
      c.stages[i] = stages[i].proto;
      if (stages[i].operand_eid != kNoEntry) c.stages[i].operand = data(stages[i].operand_eid);
      c.stages[i].write = stages[i].write_eid == kNoEntry ? nullptr : data(stages[i].write_eid);
    }
    c.finalize();
    return c;
  }
};

// A step that ends in a chain (whose writes the planner may drop).
class FusedStep : public Step {
 public:
  explicit FusedStep(ChainPlan chain) : chain_(std::move(chain)) {}
  ChainPlan& chain_plan() { return chain_; }
  std::vector<bool> stored() const override {
    std::vector<bool> out;
    const size_t n = nodes().size();
    // A chain step's first node is its first stage; other steps' first node
    // is the source.
    if (n > chain_.stages.size()) out.push_back(chain_.source_write_eid != kNoEntry);
    for (const StagePlan& st : chain_.stages) out.push_back(st.write_eid != kNoEntry);
    return out;
  }

 protected:
  ChainPlan chain_;
};

// A step that can read its data as int8 values and store its output as
// int8 values (byte activations, Planner::decide_bytes).
class ByteIO {
 public:
  virtual ~ByteIO() = default;
  // The entries read as data (the reads marked Access::data).
  virtual std::vector<int64_t> data_eids() const = 0;
  // Whether the step has the byte path at all.
  virtual bool takes_bytes() const = 0;
  // Whether the step may write where its data is, each value after reading
  // the data at the same index (then the data and the output must be both
  // bytes or neither when they share a pool).
  virtual bool data_in_place() const = 0;
  // Reads and writes as int8 the entries of `bytes` it uses.
  virtual void use_bytes(const std::set<int64_t>& bytes) = 0;
};

// A fused step with byte activations: its output is its chain's final entry.
class ByteStep : public FusedStep, public ByteIO {
 public:
  using FusedStep::FusedStep;
  void use_bytes(const std::set<int64_t>& bytes) override {
    set_data_bytes(bytes.count(data_eids().front()) > 0);
    chain_.final_bytes = bytes.count(chain_.final_eid) > 0;
  }

 protected:
  virtual void set_data_bytes(bool on) = 0;
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

// Below this much work, waking a thread costs more than it saves.
std::atomic<double> min_parallel_work{1 << 17};

// How many threads a step of `work` elementary operations uses.
int threads_for(const ExecContext& ctx, double work) {
  const int t = ctx.threads();
  if (t <= 1 || work < min_parallel_work.load()) return 1;
  return t;
}

// ---------------------------------------------------------------------------
// A step that computes one node.
class NodeStep : public Step {
 public:
  explicit NodeStep(uint32_t nid) : nid_(nid) {}
  std::vector<uint32_t> nodes() const override { return {nid_}; }

 protected:
  uint32_t nid_;
};

// Plain node.

class PlainStep : public NodeStep {
 public:
  PlainStep(const GraphNode& node, uint32_t nid) : NodeStep(nid), node_(node) {}
  void run(ExecContext& ctx) const override {
    node_.op->run((*ctx.node_inputs)[nid_], (*ctx.node_outputs)[nid_], *ctx.workspace);
  }
  const char* kind() const override { return "plain"; }

 private:
  const GraphNode& node_;
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

// The stride-phase layout of a padded plane. The plane, padded by (ph, pw),
// is cut into blocks by the residues of its row modulo sh and its column
// modulo sw; block (a, b) holds padded rows a, a + sh, ... and, in each,
// columns b, b + sw, ..., `rs` words per row. An output pixel (oh, ow) then
// reads tap (fh, fw) at a fixed offset from position oh * rs + ow of the
// output grid, whatever the strides and dilations: every tap is one
// contiguous run over the grid. Grid columns ow >= OW are computed and
// dropped. Only the blocks some tap uses are stored.
struct PhaseGrid {
  int64_t hp = 0, wp = 0, hr = 0, rs = 0, block_words = 0, plane_words = 0, grid = 0;
  int64_t sh = 1, sw = 1;
  std::vector<int> slot;       // block (a, b) -> its place, or -1
  std::vector<int64_t> toff;   // per tap (fh, fw): offset in the plane
  int64_t max_toff = 0;

  int64_t slots = 0;
  int64_t max_row_off = 0;  // largest tap row offset within a block

  PhaseGrid() = default;
  explicit PhaseGrid(const ConvShape& g) : sh(g.sh), sw(g.sw) {
    hp = g.h + 2 * g.ph;
    wp = g.w + 2 * g.pw;
    hr = ceil_div(hp, sh);
    rs = ceil_div(wp, sw);
    block_words = hr * rs;
    slot.assign(static_cast<size_t>(sh * sw), -1);
    int used = 0;
    for (int64_t fh = 0; fh < g.fh; ++fh) {
      for (int64_t fw = 0; fw < g.fw; ++fw) {
        const int64_t a = (fh * g.dh) % sh, b = (fw * g.dw) % sw;
        if (slot[static_cast<size_t>(a * sw + b)] < 0) slot[static_cast<size_t>(a * sw + b)] = used++;
      }
    }
    plane_words = used * block_words;
    slots = used;
    max_row_off = ((g.fh - 1) * g.dh) / sh;
    for (int64_t fh = 0; fh < g.fh; ++fh) {
      for (int64_t fw = 0; fw < g.fw; ++fw) {
        const int64_t a = (fh * g.dh) % sh, b = (fw * g.dw) % sw;
        const int64_t off = slot[static_cast<size_t>(a * sw + b)] * block_words +
                            (fh * g.dh) / sh * rs + (fw * g.dw) / sw;
        toff.push_back(off);
        max_toff = std::max(max_toff, off);
      }
    }
    grid = g.oh * rs;
  }

  // Fills one plane: `row(i, dst)` writes padded row i (wp values) to dst.
  // `tmp`: wp values of scratch.
  template <typename T, typename Row>
  void fill(T* out, T pad, T* tmp, const Row& row,
            void (*split)(const int32_t*, int64_t, int64_t, int32_t*, int64_t) = nullptr) const {
    fill_rows(out, pad, tmp, row, 0, hr, block_words, split);
  }

  // Rows [r0, r1) of every block (rows past hr are padding), row r at
  // out + slot * bw + (r - r0) * rs. `split` (the table's split_phases, for
  // 32-bit T) splits a row into all its column phases at once when their
  // blocks are consecutive.
  template <typename T, typename Row>
  void fill_rows(T* out, T pad, T* tmp, const Row& row, int64_t r0, int64_t r1, int64_t bw,
                 void (*split)(const int32_t*, int64_t, int64_t, int32_t*, int64_t) = nullptr)
      const {
    for (int64_t a = 0; a < sh; ++a) {
      bool any = false, consecutive = split != nullptr && sizeof(T) == 4;
      for (int64_t b = 0; b < sw; ++b) {
        const int sl = slot[static_cast<size_t>(a * sw + b)];
        any = any || sl >= 0;
        consecutive = consecutive && sl >= 0 && sl == slot[static_cast<size_t>(a * sw)] + b;
      }
      if (!any) continue;
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t i = r * sh + a;
        if (sw == 1) {
          T* dst = out + slot[static_cast<size_t>(a)] * bw + (r - r0) * rs;
          if (i < hp) {
            row(i, dst);
          } else {
            std::fill_n(dst, rs, pad);
          }
          continue;
        }
        if (i < hp) row(i, tmp);
        if (consecutive && i < hp) {
          T* dst = out + slot[static_cast<size_t>(a * sw)] * bw + (r - r0) * rs;
          split(reinterpret_cast<const int32_t*>(tmp), wp, sw, reinterpret_cast<int32_t*>(dst), bw);
          for (int64_t b = 0; b < sw; ++b) {
            const int64_t filled = b < wp ? (wp - b + sw - 1) / sw : 0;
            std::fill(dst + b * bw + filled, dst + b * bw + rs, pad);
          }
          continue;
        }
        for (int64_t b = 0; b < sw; ++b) {
          const int sl = slot[static_cast<size_t>(a * sw + b)];
          if (sl < 0) continue;
          T* dst = out + sl * bw + (r - r0) * rs;
          if (i >= hp) {
            std::fill_n(dst, rs, pad);
            continue;
          }
          int64_t c = 0;
          for (int64_t col = b; col < wp; col += sw) dst[c++] = tmp[col];
          std::fill(dst + c, dst + rs, pad);
        }
      }
    }
  }
};

// Segments of grid positions [p0, p0 + np) that are output pixels.
int grid_segments(const PhaseGrid& pg, int64_t ow, int64_t p0, int64_t np,
                  kernels::Segment* out) {
  int count = 0;
  int64_t p = p0;
  const int64_t end = p0 + np;
  while (p < end) {
    const int64_t oh = p / pg.rs, col = p % pg.rs;
    if (col >= ow) {
      p += pg.rs - col;
      continue;
    }
    const int64_t len = std::min(end - p, ow - col);
    const int64_t pix = oh * ow + col;
    if (count > 0 && out[count - 1].out + out[count - 1].len == pix &&
        out[count - 1].offset + out[count - 1].len == p - p0) {
      out[count - 1].len += static_cast<int32_t>(len);
    } else {
      out[count++] = {static_cast<int32_t>(p - p0), static_cast<int32_t>(len), pix};
    }
    p += len;
  }
  return count;
}

// ---------------------------------------------------------------------------
// conv2d with groups == 1 as an int8 matrix product ("implicit GEMM").
//
// The data is packed once per inference into words of `group` channels in
// the phase layout ([n][channel group][block][row][column]); row k = (channel
// group, fh, fw) of the im2col matrix is then the run starting at koff[k]
// from a grid position, read in place. Each tile of nr * lanes grid positions
// is multiplied with the pre-packed weights ([oc block][k][mr] words) in
// chunks of kc rows, and the epilogue runs the chain on the output pixels.

class ConvGemmStep : public ByteStep {
 public:
  // pack_first: the group writes where the data is, so all of it is packed
  // before any output is written (else each thread packs what it reads).
  ConvGemmStep(std::vector<uint32_t> nodes, const kernels::Table* t, const ConvShape& g,
               int64_t x_eid, int64_t bias_eid, const ParamView& weight, ChainPlan chain,
               bool pack_first)
      : ByteStep(std::move(chain)), nodes_(std::move(nodes)), t_(t), g_(g), x_(x_eid),
        bias_(bias_eid), pg_(g), pack_first_(pack_first) {
    const int64_t group = t->group;
    cg_ = ceil_div(g.c, group);
    taps_ = g.fh * g.fw;
    k_ = cg_ * taps_;
    nb_ = static_cast<int64_t>(t->nr) * t->lanes;
    tiles_ = ceil_div(pg_.grid, nb_);
    ob_ = ceil_div(g.o, t->mr);
    // Chunks of the reduction: B rows of a chunk about 32 KiB.
    const int64_t kc_max = std::max<int64_t>(16, (int64_t(32) << 10) / (nb_ * 4));
    const int64_t chunks = ceil_div(k_, kc_max);
    kc_ = ceil_div(k_, chunks);
    // Per tile: where its lanes go (grid position p is output pixel
    // (p / rs) * ow + p % rs when p % rs < ow), as vector masks and as runs.
    seg_begin_.push_back(0);
    for (int64_t tile = 0; tile < tiles_; ++tile) {
      const int64_t p0 = tile * nb_, np = std::min(nb_, pg_.grid - p0);
      kernels::TileMap map;
      map.nvec = static_cast<int>(ceil_div(np, t->lanes));
      for (int v = 0; v < map.nvec; ++v) {
        map.out[v] = -1;
        for (int j = 0; j < t->lanes; ++j) {
          const int64_t p = p0 + v * t->lanes + j;
          if (p - p0 >= np || p % pg_.rs >= g.ow) continue;
          map.mask[v] |= 1u << j;
          if (map.out[v] < 0) map.out[v] = (p / pg_.rs) * g.ow + p % pg_.rs;
        }
        if (map.out[v] < 0) map.out[v] = 0;
      }
      maps_.push_back(map);
      kernels::Segment segs[64];
      const int n = grid_segments(pg_, g.ow, p0, np, segs);
      segments_.insert(segments_.end(), segs, segs + n);
      seg_begin_.push_back(static_cast<int64_t>(segments_.size()));
    }

    // Small grids whose pixels fill vectors poorly use the transposed
    // product (lanes over output channels, only real pixels) when the ISA
    // has it.
    int64_t lanes_used = 0;
    for (const kernels::TileMap& m : maps_) lanes_used += m.nvec * t->lanes;
    transposed_ = t->gemm_t && g.pixels() <= 1024 &&
                  static_cast<double>(g.pixels()) < 0.85 * static_cast<double>(lanes_used);
    if (transposed_) {
      for (int64_t oh = 0; oh < g.oh; ++oh) {
        for (int64_t ow = 0; ow < g.ow; ++ow) pos_.push_back(oh * pg_.rs + ow);
      }
      for (int64_t i = 0; i < g.pixels(); ++i) pix_.push_back(i);
      const int64_t chunks_t = ceil_div(k_, 170);
      kct_ = ceil_div(k_, chunks_t);
    }

    // Weights: A[ob][k][m] = word of channels (cg*group ..) at tap (fh, fw)
    // of filter ob*mr + m; zero beyond the filters (transposed: At[group of
    // 48 filters][k][48]). The reference reads the weight as a (O, C*FH*FW)
    // matrix.
    const int64_t mr = transposed_ ? 48 : t->mr;
    const int64_t blocks = transposed_ ? ceil_div(g.o, 48) : ob_;
    assign_large(a_, static_cast<size_t>(blocks * k_ * mr), 0u);
    comp_.assign(static_cast<size_t>(blocks * mr), 0);
    const int64_t row = g.c * taps_;
    // Words: four int8 as bytes (VNNI) or two as int16 (AVX2).
    const int shift = group == 4 ? 8 : 16;
    const uint32_t mask = group == 4 ? 0xFFu : 0xFFFFu;
    std::vector<int32_t> wrow(static_cast<size_t>(row));
    for (int64_t oc = 0; oc < g.o; ++oc) {
      weight.read(oc * row, row, wrow.data());
      const int32_t* wr = wrow.data();
      uint32_t sum = 0;
      for (int64_t i = 0; i < row; ++i) sum += static_cast<uint32_t>(static_cast<int8_t>(wr[i]));
      if (t->offset_data) comp_[oc] = static_cast<int32_t>(sum * 128u);
      uint32_t* dst = a_.data() + (oc / mr) * k_ * mr + oc % mr;  // [block][k][mr]
      for (int64_t cg = 0; cg < cg_; ++cg) {
        const int64_t channels = std::min<int64_t>(group, g.c - cg * group);
        const int32_t* wc = wr + cg * group * taps_;
        for (int64_t tap = 0; tap < taps_; ++tap) {
          uint32_t word = 0;
          for (int64_t j = 0; j < channels; ++j) {
            const int32_t v = static_cast<int8_t>(wc[j * taps_ + tap]);
            word |= (static_cast<uint32_t>(v) & mask) << (shift * j);
          }
          dst[(cg * taps_ + tap) * mr] = word;
        }
      }
    }
  }

  size_t shared_words() const override {
    return static_cast<size_t>(bias_words() + (pack_first_ ? g_.n * window(0, pg_.grid).words : 0));
  }
  size_t thread_words() const override {
    // Packed window, offsets (int64), then tile accumulators or row scratch
    // (transposed: accumulators, values for a generic chain, added values).
    const int64_t rest = transposed_
                             ? std::max(ceil_div(g_.pixels(), 7) * 7 * 48 + 48 * g_.pixels() + 48, pg_.wp)
                             : std::max(ob_ * t_->mr * nb_, pg_.wp) + t_->mr;
    return static_cast<size_t>(max_window_words() + 2 + 2 * k_ + rest);
  }
  const char* kind() const override { return "conv_gemm"; }
  std::vector<uint32_t> nodes() const override { return nodes_; }
  std::vector<int64_t> data_eids() const override { return {x_}; }
  bool takes_bytes() const override { return t_->pack_bytes != nullptr; }
  // The data is packed before anything is written (pack_first).
  bool data_in_place() const override { return false; }
  void set_data_bytes(bool on) override { x_bytes_ = on; }

  void run(ExecContext& ctx) const override {
    kernels::Chain chain = chain_.bind(ctx);
    const int32_t* x = ctx.data(x_);
    int32_t* bias = reinterpret_cast<int32_t*>(ctx.shared);
    if (bias_ != kNoEntry) {
      std::memcpy(bias, ctx.data(bias_), static_cast<size_t>(g_.o) * sizeof(int32_t));
    } else {
      std::fill_n(bias, g_.o, 0);
    }
    // Each word holds at most four products of int8 values (the data is
    // packed as int8).
    kernels::set_rounding(chain, k_ * 4 * 16384, bias, g_.o);
    const double macs = static_cast<double>(g_.n) * g_.o * pg_.grid * k_ * t_->group;
    const int threads = threads_for(ctx, macs / 16);
    if (transposed_) {
      run_transposed(ctx, chain, x, bias, threads);
      return;
    }

    // (Optionally all the data packed first, then) units of (image, tile,
    // run of oc blocks), taken by the threads in chunks of consecutive units
    // (the pool evens out threads that run slower); run_units says how a
    // chunk runs. A chunk packs the rows of the data its units read into its
    // thread's scratch (unless its last chunk did), then computes: one
    // parallel region.
    const bool one_chunk = k_ <= kc_;
    // Tiles whose packed data one pass over the oc blocks keeps in cache.
    int64_t pass = std::max<int64_t>(1, (int64_t(192) << 10) / (k_ * nb_ * 4));
    pass = ceil_div(tiles_, ceil_div(tiles_, pass));  // as even as may be
    // Threads split the grid, not the output channels, when it has enough
    // tiles: each thread then reads the rows it wrote in the layer before
    // (reading what another core wrote is slow); else the channels too.
    const int64_t segments = threads > 1 && g_.n * tiles_ < 4 * threads
                                 ? std::min(ob_, ceil_div(int64_t(4) * threads, g_.n * tiles_))
                                 : 1;
    // A chunk's window reaches a thread's share of the grid (what its next
    // chunks read, unless another thread takes them).
    const int64_t span = ceil_div(tiles_ * nb_, threads);
    const int64_t units = g_.n * tiles_ * segments;
    const uint32_t* packed = pack_all(ctx, x, threads);
    std::vector<PackedWindow> last(static_cast<size_t>(ctx.threads()));
    parallel(ctx, units, threads, [&](int64_t first, int64_t end, int thread) {
      // Image by image.
      for (int64_t u0 = first; u0 < end;) {
        const int64_t n = u0 / segments / tiles_;
        const int64_t u1 = std::min(end, (n + 1) * segments * tiles_);
        run_units(chain, x, packed, bias, n, u0, u1, segments, one_chunk, pass, span,
                  ctx.scratch[thread], &last[static_cast<size_t>(thread)]);
        u0 = u1;
      }
    });
  }

 private:
  // Rows of each block a range of grid positions reads, and the words of
  // the packed window.
  struct Window {
    int64_t r0 = 0, r1 = 0, bw = 0, plane = 0, words = 0;
  };
  // The grid positions of one image a thread's scratch holds packed (a
  // cache line of its own: threads write theirs).
  struct alignas(64) PackedWindow {
    int64_t n = -1, p_begin = 0, p_end = 0;
  };
  Window window(int64_t p_begin, int64_t p_end) const {
    Window w;
    w.r0 = p_begin / pg_.rs;
    // Vectors read up to nb_ positions past a tile's start; the columns of a
    // tap reach into the next row.
    const int64_t last = p_end + nb_ - 1;
    w.r1 = last / pg_.rs + pg_.max_row_off + 2;
    w.bw = (w.r1 - w.r0) * pg_.rs;
    w.plane = pg_.slots * w.bw;
    w.words = cg_ * w.plane + nb_ + pg_.rs;
    return w;
  }
  int64_t bias_words() const { return g_.o + (g_.o & 1); }
  int64_t max_window_words() const {
    return window(0, pg_.grid).words;
  }

  // With pack_first, every image packed whole into the shared memory before
  // anything is written (returned); else null (each unit packs its window).
  const uint32_t* pack_all(ExecContext& ctx, const int32_t* x, int threads) const {
    if (!pack_first_) return nullptr;
    uint32_t* packed = ctx.shared + bias_words();
    const Window w = window(0, pg_.grid);
    parallel(ctx, g_.n * cg_, threads, [&](int64_t b, int64_t e, int thread) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t n = i / cg_, cg = i % cg_;
        pack_plane(x, n, cg, packed + n * w.words + cg * w.plane, ctx.scratch[thread], w);
        if (cg == cg_ - 1) {
          std::fill_n(packed + n * w.words + cg_ * w.plane, w.words - cg_ * w.plane,
                      t_->pad_word);
        }
      }
    });
    return packed;
  }

  // The transposed product: units of (image, 48 filters, part of the pixels).
  void run_transposed(ExecContext& ctx, const kernels::Chain& chain, const int32_t* x,
                      const int32_t* bias, int threads) const {
    const uint32_t* packed = pack_all(ctx, x, threads);
    const Window w = window(0, pg_.grid);
    const int64_t groups = ceil_div(g_.o, 48);
    const int64_t pixels = g_.pixels();
    const int64_t pblocks = ceil_div(pixels, 7);
    // Units of (image, 48 filters, part of the pixel blocks): the pixels are
    // split too when there are few groups of filters a thread (256 filters
    // are 5 groups and a third: one thread would do 3 full groups, the
    // other 2 and the third), so that the threads finish together; parts of
    // at least 2^20 products (smaller ones cost more to hand out than they
    // even out).
    const int64_t group_macs = 48 * pixels * k_ * t_->group;
    const int64_t parts =
        threads > 1
            ? std::max<int64_t>(1, std::min({pblocks, ceil_div(int64_t(8) * threads, g_.n * groups),
                                             group_macs >> 20}))
            : 1;
    // Per thread: the image its scratch holds packed (from its last chunk).
    std::vector<PackedWindow> image(static_cast<size_t>(ctx.threads()));
    parallel(ctx, g_.n * groups * parts, threads, [&](int64_t b, int64_t e, int thread) {
      uint32_t* scratch = ctx.scratch[thread];
      int64_t* koff = reinterpret_cast<int64_t*>(scratch + w.words + (w.words & 1));
      int32_t* c = reinterpret_cast<int32_t*>(koff + k_);
      int32_t* tmp = c + pblocks * 7 * 48;
      int32_t* add = tmp + 48 * pixels;
      int64_t& cur = image[static_cast<size_t>(thread)].n;
      const uint32_t* base = cur < 0 ? nullptr : packed ? packed + cur * w.words : scratch;
      for (int64_t u = b; u < e; ++u) {
        const int64_t n = u / parts / groups, gi = u / parts % groups, part = u % parts;
        const int64_t pb0 = pblocks * part / parts, pb1 = pblocks * (part + 1) / parts;
        if (n != cur) {
          base = prepare(x, packed, n, w, scratch, koff, c);
          cur = n;
        }
        const int64_t oc0 = gi * 48;
        const int noc = static_cast<int>(std::min<int64_t>(48, g_.o - oc0));
        for (int l = 0; l < 48; ++l) {
          add[l] = l < noc ? static_cast<int32_t>(static_cast<uint32_t>(bias[oc0 + l]) -
                                                  static_cast<uint32_t>(comp_[oc0 + l]))
                           : 0;
        }
        for (int64_t k0 = 0; k0 < k_; k0 += kct_) {
          const int64_t kc = std::min(kct_, k_ - k0);
          const uint32_t* at = a_.data() + (gi * k_ + k0) * 48;
          for (int64_t pb = pb0; pb < pb1; ++pb) {
            const int rows = static_cast<int>(std::min<int64_t>(7, pixels - pb * 7));
            t_->gemm_t(at, base, koff + k0, pos_.data() + pb * 7, rows, kc, c + pb * 7 * 48,
                       k0 > 0);
          }
        }
        const int64_t flat0 = (n * g_.o + oc0) * pixels;
        for (int64_t pb = pb0; pb < pb1; ++pb) {
          const int rows = static_cast<int>(std::min<int64_t>(7, pixels - pb * 7));
          t_->epilogue_t(chain, c + pb * 7 * 48, rows, pix_.data() + pb * 7, flat0, pixels, noc,
                         add, tmp);
        }
        if (chain.pattern == kernels::Pattern::kGeneric) {
          const int64_t p0 = pb0 * 7, p1 = std::min(pixels, pb1 * 7);
          for (int l = 0; l < noc; ++l) {
            t_->chain(chain, tmp + l * pixels + p0, p1 - p0, flat0 + l * pixels + p0, n, oc0 + l,
                      0);
          }
        }
      }
    });
  }

  // The packed window of image n (packed here into `scratch` unless
  // `packed` holds all images) and its offsets; `row` is row scratch.
  const uint32_t* prepare(const int32_t* x, const uint32_t* packed, int64_t n, const Window& w,
                          uint32_t* scratch, int64_t* koff, void* row) const {
    const uint32_t* xq = packed ? packed + n * w.words : scratch;
    if (!packed) {
      for (int64_t cg = 0; cg < cg_; ++cg) {
        pack_plane(x, n, cg, scratch + cg * w.plane, static_cast<uint32_t*>(row), w);
      }
      std::fill_n(scratch + cg_ * w.plane, w.words - cg_ * w.plane, t_->pad_word);
    }
    for (int64_t cg = 0; cg < cg_; ++cg) {
      for (int64_t tap = 0; tap < taps_; ++tap) {
        const int64_t off = pg_.toff[tap];
        const int64_t slot = off / pg_.block_words, in_block = off % pg_.block_words;
        koff[cg * taps_ + tap] = cg * w.plane + slot * w.bw + in_block;
      }
    }
    return xq - w.r0 * pg_.rs;  // grid position p at the result + p
  }

  // Units [u0, u1) of image n: unit u is tile u / segments (of this image)
  // over the oc blocks of segment u % segments. One chunk of the reduction:
  // the oc blocks outside, `pass` tiles at a time inside (long runs of each
  // output plane, the tiles' data staying in cache); else unit by unit.
  void run_units(const kernels::Chain& chain, const int32_t* x, const uint32_t* packed,
                 const int32_t* bias, int64_t n, int64_t u0, int64_t u1, int64_t segments,
                 bool one_chunk, int64_t pass, int64_t span, uint32_t* scratch,
                 PackedWindow* last) const {
    // The grid positions these units cover; packed unless the thread's
    // last chunk packed them already.
    const int64_t tile0 = (u0 / segments) % tiles_, tile1 = ((u1 - 1) / segments) % tiles_ + 1;
    const int64_t p_begin = packed ? 0 : tile0 * nb_;
    const int64_t p_end = packed ? pg_.grid : std::min(pg_.grid, tile1 * nb_);
    const bool fresh = !(last->n == n && last->p_begin <= p_begin && last->p_end >= p_end);
    if (fresh) {
      *last = PackedWindow{n, p_begin, std::min(pg_.grid, std::max(p_end, p_begin + span))};
    }
    const Window w = window(last->p_begin, last->p_end);
    int64_t* koff = reinterpret_cast<int64_t*>(scratch + w.words + (w.words & 1));
    uint32_t* rest = reinterpret_cast<uint32_t*>(koff + k_);
    // `rest` doubles as the row scratch of the packing.
    const uint32_t* base = fresh ? prepare(x, packed, n, w, scratch, koff, rest)
                                 : (packed ? packed + n * w.words : scratch) - w.r0 * pg_.rs;
    if (one_chunk && segments == 1) {
      for (int64_t t0 = tile0; t0 < tile1; t0 += pass) {
        const int64_t t1 = std::min(tile1, t0 + pass);
        for (int64_t ob = 0; ob < ob_; ++ob) {
          for (int64_t tile = t0; tile < t1; ++tile) {
            run_unit(chain, base, koff, bias, n, tile, ob, ob + 1, rest);
          }
        }
      }
      return;
    }
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t s = u % segments, tile = (u / segments) % tiles_;
      const int64_t ob0 = (ob_ * s) / segments, ob1 = (ob_ * (s + 1)) / segments;
      run_unit(chain, base, koff, bias, n, tile, ob0, ob1, rest);
    }
  }

  // Words of `channels` channels (`cs` values apart) of `count` pixels from
  // value `at` of the data.
  void pack(const int32_t* x, int64_t at, int64_t cs, int channels, int64_t count,
            uint32_t* out) const {
    if (x_bytes_) {
      t_->pack_bytes(reinterpret_cast<const int8_t*>(x) + at, cs, channels, count, out);
    } else {
      t_->pack_words(x + at, cs, channels, count, out);
    }
  }

  void pack_plane(const int32_t* x, int64_t n, int64_t cg, uint32_t* dst, uint32_t* tmp,
                  const Window& w) const {
    const int64_t group = t_->group;
    const int channels = static_cast<int>(std::min<int64_t>(group, g_.c - cg * group));
    const int64_t plane = g_.h * g_.w;
    const int64_t src = (n * g_.c + cg * group) * plane;
    const uint32_t pad = t_->pad_word;
    if (g_.ph == 0 && g_.pw == 0 && g_.sh == 1 && g_.sw == 1 && pg_.plane_words == plane) {
      // One run: rows [r0, min(r1, h)) of the plane, then padding.
      const int64_t rows = std::max<int64_t>(0, std::min(w.r1, g_.h) - w.r0);
      pack(x, src + w.r0 * g_.w, plane, channels, rows * g_.w, dst);
      std::fill_n(dst + rows * g_.w, w.bw - rows * g_.w, pad);
      return;
    }
    pg_.fill_rows<uint32_t>(dst, pad, tmp, [&](int64_t i, uint32_t* row) {
      const int64_t xi = i - g_.ph;
      if (xi < 0 || xi >= g_.h) {
        std::fill_n(row, pg_.wp, pad);
        return;
      }
      std::fill_n(row, g_.pw, pad);
      pack(x, src + xi * g_.w, plane, channels, g_.w, row + g_.pw);
      std::fill_n(row + g_.pw + g_.w, pg_.wp - g_.pw - g_.w, pad);
    }, w.r0, w.r1, w.bw, t_->split_phases);
  }

  void run_unit(const kernels::Chain& chain, const uint32_t* base, const int64_t* koff,
                const int32_t* bias, int64_t n, int64_t tile, int64_t ob0, int64_t ob1,
                uint32_t* scratch) const {
    const int64_t p0 = tile * nb_;
    const int64_t np = std::min(nb_, pg_.grid - p0);
    const int nvec = static_cast<int>(ceil_div(np, t_->lanes));
    const int64_t mr = t_->mr;
    int32_t* ctile = reinterpret_cast<int32_t*>(scratch);
    int32_t* add = ctile + ob_ * mr * nb_;
    const uint32_t* b = base + p0;
    const int64_t pixels = g_.pixels();
    const bool fused = chain.pattern != kernels::Pattern::kGeneric;
    const kernels::TileMap& map = maps_[static_cast<size_t>(tile)];
    const kernels::Segment* segs = segments_.data() + seg_begin_[static_cast<size_t>(tile)];
    const int nsegs = static_cast<int>(seg_begin_[static_cast<size_t>(tile) + 1] -
                                       seg_begin_[static_cast<size_t>(tile)]);
    for (int64_t k0 = 0; k0 < k_; k0 += kc_) {
      const int64_t kc = std::min(kc_, k_ - k0);
      const bool last = k0 + kc >= k_;
      for (int64_t ob = ob0; ob < ob1; ++ob) {
        int32_t* c = ctile + (ob - ob0) * mr * nb_;
        const uint32_t* a = a_.data() + (ob * k_ + k0) * mr;
        const int64_t oc0 = ob * mr;
        const int rows = static_cast<int>(std::min(mr, g_.o - oc0));
        if (last) {
          for (int m = 0; m < rows; ++m) {
            add[m] = static_cast<int32_t>(static_cast<uint32_t>(bias[oc0 + m]) -
                                          static_cast<uint32_t>(comp_[oc0 + m]));
          }
          // The last chunk with the epilogue on the registers.
          if (fused && t_->gemm_fused(a, b, koff + k0, kc, k0 > 0 ? c : nullptr, nb_, chain,
                                      (n * g_.o + oc0) * pixels, pixels, rows, add, map)) {
            continue;
          }
        }
        t_->gemm(a, b, koff + k0, kc, c, nb_, nvec, k0 > 0);
        if (!last || nsegs == 0) continue;
        t_->epilogue(chain, c, nb_, rows, segs, nsegs, (n * g_.o + oc0) * pixels, pixels, n, oc0,
                     add);
      }
    }
  }

  std::vector<uint32_t> nodes_;
  const kernels::Table* t_;
  ConvShape g_;
  int64_t x_, bias_;
  PhaseGrid pg_;
  bool pack_first_ = false;
  bool x_bytes_ = false;
  int64_t cg_ = 0, taps_ = 0, k_ = 0, nb_ = 0, tiles_ = 0, ob_ = 0, kc_ = 0;
  std::vector<uint32_t> a_;
  std::vector<int32_t> comp_;
  std::vector<kernels::TileMap> maps_;
  bool transposed_ = false;
  std::vector<int64_t> pos_, pix_;
  int64_t kct_ = 0;
  std::vector<kernels::Segment> segments_;
  std::vector<int64_t> seg_begin_;
};

// ---------------------------------------------------------------------------
// Depthwise conv2d (groups == channels == filters, one input channel per
// filter): int32 products, as the reference's grouped kernel, over the
// phase layout of each plane.

class DepthwiseStep : public ByteStep {
 public:
  // copy_first: the group writes where the data is (see the planner): each
  // plane is copied before its output is written.
  // `weight`: the filters when they are a constant parameter (else null);
  // with int8 taps they are packed for the table's byte kernel, if any.
  DepthwiseStep(std::vector<uint32_t> nodes, const kernels::Table* t, const ConvShape& g,
                int64_t x_eid, int64_t w_eid, int64_t bias_eid, ChainPlan chain, bool copy_first,
                const ParamView* weight)
      : ByteStep(std::move(chain)), nodes_(std::move(nodes)), t_(t), g_(g), x_(x_eid),
        w_(w_eid), bias_(bias_eid), pg_(g), copy_first_(copy_first),
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
  }

  size_t thread_words() const override {
    // Plane, slack the last vectors read, grid output, row scratch, pixels,
    // then the byte rows.
    return static_cast<size_t>(pg_.plane_words + pg_.grid + 2 * t_->lanes + pg_.grid + pg_.wp +
                               g_.pixels() + t_->lanes +
                               (bytes_.ok ? (bytes_.size() + 3) / 4 : 0));
  }
  const char* kind() const override { return "depthwise"; }
  std::vector<uint32_t> nodes() const override { return nodes_; }
  std::vector<int64_t> data_eids() const override { return {x_}; }
  // Only the byte kernel (every plane through it).
  bool takes_bytes() const override { return bytes_.ok; }
  bool data_in_place() const override { return copy_first_; }
  void set_data_bytes(bool on) override { x_bytes_ = on; }

  void run(ExecContext& ctx) const override {
    const kernels::Chain chain = chain_.bind(ctx);
    const int32_t* x = ctx.data(x_);
    const int32_t* w = ctx.data(w_);
    const int32_t* bias = bias_ == kNoEntry ? nullptr : ctx.data(bias_);
    const int64_t taps = g_.fh * g_.fw;
    // The byte kernel's sums are of int8 products (the int32 kernels read
    // any data: exact rounding there).
    kernels::Chain chain8 = chain;
    kernels::set_rounding(chain8, taps * 16384, bias, g_.c);
    const double work = static_cast<double>(g_.n) * g_.c * pg_.grid * (taps + 4);
    parallel(ctx, g_.n * g_.c, threads_for(ctx, work), [&](int64_t b, int64_t e, int thread) {
      int32_t* plane = reinterpret_cast<int32_t*>(ctx.scratch[thread]);
      int32_t* grid = plane + pg_.plane_words + pg_.grid + 2 * t_->lanes;
      int32_t* tmp = grid + pg_.grid;
      int32_t* out = tmp + pg_.wp;
      uint8_t* bytes = reinterpret_cast<uint8_t*>(out + g_.pixels() + t_->lanes);
      // The slack past the plane, read by the last grid columns.
      std::fill_n(plane + pg_.plane_words, pg_.grid + 2 * t_->lanes, 0);
      for (int64_t i = b; i < e; ++i) {
        const int64_t n = i / g_.c, c = i % g_.c;
        const int32_t* src = x + i * g_.h * g_.w;
        const int32_t add = bias ? bias[c] : 0;
        // The byte kernel copies the plane before writing (so copy_first
        // holds); it declines, writing nothing, a plane with a value past int8.
        // A chain with a pattern runs in its epilogue.
        kernels::PlaneEpilogue epi;
        epi.chain = &chain8;
        epi.flat0 = i * g_.pixels();
        epi.add = add;
        // Byte data: never declined.
        const int8_t* src8 =
            x_bytes_ ? reinterpret_cast<const int8_t*>(x) + i * g_.h * g_.w : nullptr;
        if (bytes_.ok &&
            t_->depthwise_u8(src, src8, g_.h, g_.w, wpack_.data() + c * g_.fh * bytes_.chunks,
                             comp_[static_cast<size_t>(c)], g_.fh, g_.fw, g_.sh, g_.sw, g_.ph,
                             g_.pw, g_.dh, g_.dw, g_.oh, g_.ow, out, bytes, &epi)) {
          if (chain.pattern == kernels::Pattern::kGeneric) {
            t_->chain(chain, out, g_.pixels(), i * g_.pixels(), n, c, add);
          }
          continue;
        }
        if (!copy_first_ &&
            t_->depthwise_direct(src, g_.h, g_.w, w + c * taps, g_.fh, g_.fw, g_.sh, g_.sw,
                                 g_.ph, g_.pw, g_.dh, g_.dw, g_.oh, g_.ow, out)) {
          t_->chain(chain, out, g_.pixels(), i * g_.pixels(), n, c, add);
          continue;
        }
        pg_.fill<int32_t>(plane, 0, tmp, [&](int64_t r, int32_t* row) {
          const int64_t xi = r - g_.ph;
          if (xi < 0 || xi >= g_.h) {
            std::fill_n(row, pg_.wp, 0);
            return;
          }
          std::fill_n(row, g_.pw, 0);
          std::memcpy(row + g_.pw, src + xi * g_.w, static_cast<size_t>(g_.w) * sizeof(int32_t));
          std::fill_n(row + g_.pw + g_.w, pg_.wp - g_.pw - g_.w, 0);
        }, t_->split_phases);
        t_->depthwise(plane, pg_.toff.data(), w + c * taps, static_cast<int>(taps), pg_.grid,
                      grid);
        if (pg_.rs == g_.ow) {
          t_->chain(chain, grid, g_.pixels(), i * g_.pixels(), n, c, add);
        } else if (g_.ow >= 2 * t_->lanes) {
          // Row by row from the grid.
          for (int64_t r = 0; r < g_.oh; ++r) {
            t_->chain(chain, grid + r * pg_.rs, g_.ow, i * g_.pixels() + r * g_.ow, n, c, add);
          }
        } else {
          // Short rows: compacted first, one call.
          for (int64_t r = 0; r < g_.oh; ++r) {
            std::memcpy(out + r * g_.ow, grid + r * pg_.rs, static_cast<size_t>(g_.ow) * 4);
          }
          t_->chain(chain, out, g_.pixels(), i * g_.pixels(), n, c, add);
        }
      }
    });
  }

 private:
  std::vector<uint32_t> nodes_;
  const kernels::Table* t_;
  ConvShape g_;
  int64_t x_, w_, bias_;
  PhaseGrid pg_;
  bool copy_first_ = false;
  bool x_bytes_ = false;
  kernels::DepthwiseBytes bytes_;  // ok: the byte kernel runs
  std::vector<uint32_t> wpack_;    // [channel][filter row][chunk]
  std::vector<int32_t> comp_;      // [channel]: 128 * sum of the taps
};

// ---------------------------------------------------------------------------
// dense with pre-packed int8 weights (when every weight fits int8).

class DenseStep : public FusedStep {
 public:
  DenseStep(std::vector<uint32_t> nodes, const kernels::Table* t, int64_t rows, int64_t depth,
            int64_t units, int64_t x_eid, int64_t bias_eid, const ParamView& weight,
            ChainPlan chain)
      : FusedStep(std::move(chain)), nodes_(std::move(nodes)), t_(t), rows_(rows),
        depth_(depth), units_(units), x_(x_eid), bias_(bias_eid) {
    const int64_t lanes = t->lanes;
    blocks_ = ceil_div(units, lanes);
    w_.assign(static_cast<size_t>(blocks_ * lanes * depth), 0);
    for (int64_t u = 0; u < units; ++u) {
      for (int64_t k = 0; k < depth; ++k) {
        w_[static_cast<size_t>(((u / lanes) * depth + k) * lanes + u % lanes)] =
            static_cast<int8_t>(weight[u * depth + k]);
      }
    }
  }

  static bool fits(const ParamView& weight) {
    if (!weight.values && weight.width == 1) return true;
    for (int64_t i = 0; i < weight.count; ++i) {
      const int32_t v = weight[i];
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

class MaxPoolStep : public NodeStep, public ByteIO {
 public:
  MaxPoolStep(uint32_t nid, const kernels::Table* t, const ConvShape& g, int64_t x_eid,
              int64_t y_eid)
      : NodeStep(nid), t_(t), g_(g), x_(x_eid), y_(y_eid) {}

  size_t thread_words() const override {
    // The kernel's scratch, then a plane and an output plane as int32 for
    // byte activations (or the byte kernel's scratch).
    if (bytes_kernel()) {
      return static_cast<size_t>(
          (kernels::max_pool_u8_scratch(g_.w, g_.fw, g_.sw, g_.ow, g_.pw) + 3) / 4);
    }
    return static_cast<size_t>(kernels::max_pool_scratch(g_.w, g_.fw, g_.sw, g_.ow, t_->lanes) +
                               (x_bytes_ ? g_.h * g_.w : 0) + (y_bytes_ ? g_.pixels() : 0));
  }
  const char* kind() const override { return "max_pool"; }
  std::vector<int64_t> data_eids() const override { return {x_}; }
  bool takes_bytes() const override { return true; }
  bool data_in_place() const override { return false; }  // never shares storage
  void use_bytes(const std::set<int64_t>& bytes) override {
    x_bytes_ = bytes.count(x_) > 0;
    y_bytes_ = bytes.count(y_) > 0;
  }

  void run(ExecContext& ctx) const override {
    const int32_t* x = ctx.data(x_);
    int32_t* y = ctx.data(y_);
    const int64_t plane = g_.h * g_.w, pixels = g_.pixels();
    const double work = static_cast<double>(g_.n) * g_.c * (plane + pixels * 4);
    if (bytes_kernel()) {
      const int8_t* x8 = reinterpret_cast<const int8_t*>(x);
      int8_t* y8 = reinterpret_cast<int8_t*>(y);
      parallel(ctx, g_.n * g_.c, threads_for(ctx, work / 4), [&](int64_t b, int64_t e, int thread) {
        int8_t* scratch = reinterpret_cast<int8_t*>(ctx.scratch[thread]);
        for (int64_t i = b; i < e; ++i) {
          t_->max_pool_u8(x8 + i * plane, g_.h, g_.w, g_.fh, g_.fw, g_.sh, g_.sw, g_.ph, g_.pw,
                          g_.oh, g_.ow, y8 + i * pixels, scratch);
        }
      });
      return;
    }
    parallel(ctx, g_.n * g_.c, threads_for(ctx, work), [&](int64_t b, int64_t e, int thread) {
      int32_t* scratch = reinterpret_cast<int32_t*>(ctx.scratch[thread]);
      int32_t* wide = scratch + kernels::max_pool_scratch(g_.w, g_.fw, g_.sw, g_.ow, t_->lanes);
      int32_t* out = wide + (x_bytes_ ? plane : 0);
      for (int64_t i = b; i < e; ++i) {
        // Byte activations: the plane widened, the output narrowed (the max
        // of int8 values is one of them).
        const int32_t* src = x + i * plane;
        if (x_bytes_) {
          widen(reinterpret_cast<const int8_t*>(x) + i * plane, plane, wide);
          src = wide;
        }
        int32_t* dst = y_bytes_ ? out : y + i * pixels;
        t_->max_pool(src, g_.h, g_.w, g_.fh, g_.fw, g_.sh, g_.sw, g_.ph, g_.pw, g_.oh, g_.ow, dst,
                     scratch);
        if (y_bytes_) narrow(out, pixels, reinterpret_cast<int8_t*>(y) + i * pixels);
      }
    });
  }

 private:
  const kernels::Table* t_;
  ConvShape g_;
  int64_t x_, y_;
  bool x_bytes_ = false, y_bytes_ = false;

  // Both bytes and the CPU has the byte kernel.
  bool bytes_kernel() const { return x_bytes_ && y_bytes_ && t_->max_pool_u8; }
};

// ---------------------------------------------------------------------------
// concatenate: pieces of rows copied in parallel (the output shares storage
// with no input).

class ConcatStep : public NodeStep, public ByteIO {
 public:
  // A copy of `len` values from input `input` at `from` to the output at `to`.
  struct Piece {
    size_t input;
    int64_t from, to, len;
  };

  ConcatStep(uint32_t nid, std::vector<int64_t> inputs, int64_t out, std::vector<Piece> pieces,
             int64_t size)
      : NodeStep(nid), inputs_(std::move(inputs)), out_(out), pieces_(std::move(pieces)),
        size_(size) {}
  const char* kind() const override { return "concat"; }
  std::vector<int64_t> data_eids() const override { return inputs_; }
  bool takes_bytes() const override { return true; }
  bool data_in_place() const override { return false; }  // never shares storage
  void use_bytes(const std::set<int64_t>& bytes) override {
    in_bytes_.clear();
    for (int64_t x : inputs_) in_bytes_.push_back(bytes.count(x) > 0);
    out_bytes_ = bytes.count(out_) > 0;
  }

  void run(ExecContext& ctx) const override {
    std::vector<const int32_t*> x(inputs_.size());
    for (size_t k = 0; k < inputs_.size(); ++k) x[k] = ctx.data(inputs_[k]);
    int32_t* y = ctx.data(out_);
    const int64_t n = static_cast<int64_t>(pieces_.size());
    parallel(ctx, n, threads_for(ctx, static_cast<double>(size_)), [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) {
        const Piece& p = pieces_[static_cast<size_t>(i)];
        const bool in8 = !in_bytes_.empty() && in_bytes_[p.input];
        // Byte activations (an int8 output has int8 values only).
        const int8_t* src8 = reinterpret_cast<const int8_t*>(x[p.input]) + p.from;
        int8_t* y8 = reinterpret_cast<int8_t*>(y) + p.to;
        if (in8 && out_bytes_) {
          std::memcpy(y8, src8, static_cast<size_t>(p.len));
        } else if (in8) {
          widen(src8, p.len, y + p.to);
        } else if (out_bytes_) {
          narrow(x[p.input] + p.from, p.len, y8);
        } else {
          std::memcpy(y + p.to, x[p.input] + p.from, static_cast<size_t>(p.len) * sizeof(int32_t));
        }
      }
    });
  }

 private:
  std::vector<int64_t> inputs_;
  int64_t out_;
  std::vector<Piece> pieces_;
  int64_t size_;
  std::vector<bool> in_bytes_;  // empty: none
  bool out_bytes_ = false;
};

// ---------------------------------------------------------------------------
// upsampling (nearest neighbour, NCHW): planes in parallel (the output shares
// storage with no input).

class UpsamplingStep : public NodeStep {
 public:
  UpsamplingStep(uint32_t nid, int64_t x, int64_t y, int64_t planes, int64_t h, int64_t w,
                 int64_t scale)
      : NodeStep(nid), x_(x), y_(y), planes_(planes), h_(h), w_(w), scale_(scale) {}
  const char* kind() const override { return "upsampling"; }

  void run(ExecContext& ctx) const override {
    const int32_t* x = ctx.data(x_);
    int32_t* y = ctx.data(y_);
    const int64_t s = scale_, ow = w_ * s;
    const double work = static_cast<double>(planes_) * h_ * w_ * s * s;
    parallel(ctx, planes_, threads_for(ctx, work), [&](int64_t b, int64_t e, int) {
      for (int64_t p = b; p < e; ++p) {
        const int32_t* xp = x + p * h_ * w_;
        int32_t* yp = y + p * h_ * w_ * s * s;
        for (int64_t r = 0; r < h_; ++r) {
          // One widened row, then its copies.
          int32_t* first = yp + r * s * ow;
          const int32_t* xr = xp + r * w_;
          if (s == 2) {
            for (int64_t c = 0; c < w_; ++c) first[2 * c] = first[2 * c + 1] = xr[c];
          } else {
            for (int64_t c = 0; c < w_; ++c) std::fill_n(first + c * s, s, xr[c]);
          }
          for (int64_t k = 1; k < s; ++k) {
            std::memcpy(first + k * ow, first, static_cast<size_t>(ow) * sizeof(int32_t));
          }
        }
      }
    });
  }

 private:
  int64_t x_, y_, planes_, h_, w_, scale_;
};

// ---------------------------------------------------------------------------
// sum / max over the trailing axes.

class ReduceStep : public NodeStep {
 public:
  ReduceStep(uint32_t nid, const kernels::Table* t, int64_t x_eid, int64_t y_eid, int64_t rows,
             int64_t inner, bool max)
      : NodeStep(nid), t_(t), x_(x_eid), y_(y_eid), rows_(rows), inner_(inner), max_(max) {}
  const char* kind() const override { return "reduce"; }
  void run(ExecContext& ctx) const override {
    const int32_t* x = ctx.data(x_);
    int32_t* y = ctx.data(y_);
    parallel(ctx, rows_, threads_for(ctx, static_cast<double>(rows_) * inner_),
             [&](int64_t b, int64_t e, int) { t_->reduce_rows(x + b * inner_, e - b, inner_, max_, y + b); });
  }

 private:
  const kernels::Table* t_;
  int64_t x_, y_, rows_, inner_;
  bool max_;
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
  // Of a candidate: its stage, -1 for the source's own entry; of a read: the
  // stage whose operand it is, -1 for the source's inputs.
  int stage = -1;
  size_t step = 0;
  bool data = false;  // a read of a step's data (ByteIO::data_eids)
};

class Planner {
 public:
  Planner(const Graph& g, const kernels::Table* t, ParamLookup params, const void* params_ctx)
      : g_(g), t_(t), params_(params), params_ctx_(params_ctx) {
    // Which storage ids nodes write, and how many entries use each.
    for (uint32_t nid = 0; nid < g.nodes.size(); ++nid) {
      const GraphNode& node = g.nodes[nid];
      for (uint32_t i = 0; i < node.num_outputs; ++i) {
        const int sid = static_cast<int>(g.pool[g.entry_id(nid, i)]);
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
    plan->summary.byte_entries = decide_bytes(steps, step_accesses, &plan->input_bytes);

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
    // Pre-packed weights that nothing else reads.
    for (const auto& kv : packed_) {
      const int64_t w = kv.first;
      bool private_copy = true;
      for (const EntryRef& e : g_.heads) private_copy = private_copy && eid(e) != w;
      for (uint32_t nid = 0; nid < g_.nodes.size() && private_copy; ++nid) {
        const GraphNode& node = g_.nodes[nid];
        for (size_t k = 0; k < node.inputs.size(); ++k) {
          if (eid(node.inputs[k]) == w && !(k == 1 && kv.second.count(nid))) private_copy = false;
        }
      }
      if (private_copy) plan->unused_pools.push_back(sid(w));
    }
    return plan;
  }

 private:
  int64_t eid(const EntryRef& e) const { return g_.entry_id(e); }
  int sid(int64_t e) const { return static_cast<int>(g_.pool[static_cast<size_t>(e)]); }
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
  bool constant_param(const EntryRef& e, ParamView* v) const {
    const GraphNode& node = g_.nodes[e.node_id];
    if (!node.is_variable() || node.is_data() || e.index != 0) return false;
    const int s = sid(eid(e));
    if (written_.count(s) || users_.at(s) != 1) return false;
    return params_(params_ctx_, e.node_id, v) && v->count == shape_size(shape(eid(e)));
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
      if (operand != kNoEntry) {
        acc->push_back({operand, Access::kRead, -1, static_cast<int>(chain->stages.size())});
      }
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
        const RightShiftRule rule = right_shift_rule(precision, shift);
        s.shift = shift;
        s.hi = rule.hi;
        switch (rule.kind) {
          case RightShiftRule::Kind::kZero: s.op = StageOp::kZero; break;
          case RightShiftRule::Kind::kSignOnly: s.op = StageOp::kShift31; break;
          case RightShiftRule::Kind::kRound: s.op = StageOp::kShiftRound; break;
          case RightShiftRule::Kind::kSaturate:
            s.op = StageOp::kShiftSat;
            s.x_lo = rule.x_lo;
            s.x_hi = rule.x_hi;
            break;
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
      case KernelInfo::Kind::kReduce: return try_reduce(nid, k, out, used, acc);
      case KernelInfo::Kind::kConcat: return try_concat(nid, k, out, used, acc);
      case KernelInfo::Kind::kUpsampling: return try_upsampling(nid, k, out, used, acc);
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
    // Keep the scratch memory of the fast kernels (packed data per thread,
    // tiles) modest; larger convolutions run plain.
    const int64_t padded = (g.h + 2 * g.ph) * (g.w + 2 * g.pw);
    if (padded > (int64_t(1) << 22) || g.c * padded > (int64_t(1) << 26) ||
        g.n * g.c * padded > (int64_t(1) << 27) || g.o > (int64_t(1) << 16) ||
        g.c * g.fh * g.fw > (int64_t(1) << 20)) {
      return nullptr;
    }

    const bool depthwise = k.groups > 1 && k.groups == g.c && g.o == g.c && ws[1] == 1;
    if (k.groups != 1 && !depthwise) return nullptr;
    if (k.groups == 1 && ws[1] != g.c) return nullptr;

    std::set<int> readonly, written;
    for (const EntryRef& e : node.inputs) {
      readonly.insert(sid(eid(e)));
      acc->push_back({eid(e), Access::kRead, -1});
    }
    acc->front().data = true;
    if (readonly.count(sid(out))) return nullptr;
    written.insert(sid(out));
    ParamView weight;
    if (!depthwise && !constant_param(node.inputs[1], &weight)) return nullptr;
    const int64_t bias = k.use_bias ? eid(node.inputs[2]) : kNoEntry;
    if (bias != kNoEntry && shape_size(shape(bias)) < g.o) return nullptr;

    ChainPlan chain;
    chain.source_write_eid = out;
    chain.final_eid = out;
    acc->push_back({out, Access::kWriteWhole, 0});
    std::vector<uint32_t> nodes{nid};
    *used = 1;
    // The matrix-product kernel copies the bias before it writes anything,
    // packs the data first when the group writes where it is (see
    // ConvGemmStep), and nothing writes a pre-packed weight: the nodes after
    // the convolution may write where its inputs were.
    if (!depthwise) readonly.clear();
    // Depthwise planes of the output the size of the input's: output plane
    // i covers exactly input plane i, which the kernel copies before writing
    // plane i (the phase path), so the group may write where the data is.
    const int64_t xsid = sid(eid(node.inputs[0]));
    bool x_writable = false;
    if (depthwise && g.oh * g.ow == g.h * g.w && xsid != sid(eid(node.inputs[1])) &&
        !(k.use_bias && xsid == sid(eid(node.inputs[2])))) {
      readonly.erase(static_cast<int>(xsid));
      x_writable = true;
    }
    extend_chain(i + 1, out, true, &readonly, &written, &chain, &nodes, acc, used);
    const int64_t x = eid(node.inputs[0]);
    if (!depthwise) packed_[eid(node.inputs[1])].insert(nid);
    if (depthwise) {
      ParamView dw_weight;
      const bool constant = constant_param(node.inputs[1], &dw_weight) &&
                            dw_weight.count >= g.c * g.fh * g.fw;
      return std::make_unique<DepthwiseStep>(nodes, t_, g, x, eid(node.inputs[1]), bias,
                                             std::move(chain), x_writable && written.count(xsid),
                                             constant ? &dw_weight : nullptr);
    }
    const bool pack_first = written.count(sid(x)) > 0;
    return std::make_unique<ConvGemmStep>(nodes, t_, g, x, bias, weight, std::move(chain),
                                          pack_first);
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
    ParamView weight;
    if (!constant_param(node.inputs[1], &weight) || !DenseStep::fits(weight)) return nullptr;
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
    packed_[eid(node.inputs[1])].insert(nid);
    return std::make_unique<DenseStep>(nodes, t_, xs[0], xs[1], ws[0], eid(node.inputs[0]),
                                       bias, weight, std::move(chain));
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
    if (g.w + g.fw > (int64_t(1) << 24) || g.sw > 64) return nullptr;
    // Every window must see part of the plane (the kernel reads its rows).
    if (g.ph >= g.fh || g.pw >= g.fw || (g.oh - 1) * g.sh - g.ph >= g.h ||
        (g.ow - 1) * g.sw - g.pw >= g.w || g.ph < 0 || g.pw < 0) {
      return nullptr;
    }
    acc->push_back({x, Access::kRead, -1});
    acc->back().data = true;
    acc->push_back({out, Access::kWriteWhole, -1});
    *used = 1;
    return std::make_unique<MaxPoolStep>(nid, t_, g, x, out);
  }

  // concatenate whose output shares storage with none of its inputs.
  std::unique_ptr<Step> try_concat(uint32_t nid, const KernelInfo& k, int64_t out, size_t* used,
                                   std::vector<Access>* acc) {
    const GraphNode& node = g_.nodes[nid];
    const Shape& os = shape(out);
    const int64_t ndim = static_cast<int64_t>(os.size());
    const int64_t axis = k.a >= 0 ? k.a : ndim + k.a;
    if (node.inputs.empty() || axis < 0 || axis >= ndim) return nullptr;
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= os[static_cast<size_t>(i)];
    for (int64_t i = axis + 1; i < ndim; ++i) inner *= os[static_cast<size_t>(i)];
    const int64_t out_row = os[static_cast<size_t>(axis)] * inner;
    std::vector<int64_t> inputs;
    std::vector<ConcatStep::Piece> pieces;
    constexpr int64_t kPiece = 1 << 14;  // values per copy at most
    int64_t offset = 0;
    for (const EntryRef& e : node.inputs) {
      const int64_t x = eid(e);
      const Shape& xs = shape(x);
      if (sid(x) == sid(out) || static_cast<int64_t>(xs.size()) != ndim) return nullptr;
      const int64_t row = xs[static_cast<size_t>(axis)] * inner;
      if (row * outer != shape_size(xs)) return nullptr;
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t b = 0; b < row; b += kPiece) {
          pieces.push_back({inputs.size(), o * row + b, o * out_row + offset + b,
                            std::min(kPiece, row - b)});
        }
      }
      offset += row;
      inputs.push_back(x);
    }
    if (offset != out_row) return nullptr;
    for (int64_t x : inputs) {
      acc->push_back({x, Access::kRead, -1});
      acc->back().data = true;
    }
    acc->push_back({out, Access::kWriteWhole, -1});
    *used = 1;
    return std::make_unique<ConcatStep>(nid, std::move(inputs), out, std::move(pieces),
                                        shape_size(os));
  }

  // upsampling whose output shares storage with no input.
  std::unique_ptr<Step> try_upsampling(uint32_t nid, const KernelInfo& k, int64_t out,
                                       size_t* used, std::vector<Access>* acc) {
    const GraphNode& node = g_.nodes[nid];
    const int64_t x = eid(node.inputs[0]);
    const Shape& xs = shape(x);
    const Shape& ys = shape(out);
    const int64_t s = k.a;
    if (xs.size() != 4 || sid(x) == sid(out) || s < 1 ||
        ys != Shape{xs[0], xs[1], xs[2] * s, xs[3] * s}) {
      return nullptr;
    }
    acc->push_back({x, Access::kRead, -1});
    acc->push_back({out, Access::kWriteWhole, -1});
    *used = 1;
    return std::make_unique<UpsamplingStep>(nid, x, out, xs[0] * xs[1], xs[2], xs[3], s);
  }

  // A reduction whose axes (resolved as the kernel does) are the last t >= 1.
  std::unique_ptr<Step> try_reduce(uint32_t nid, const KernelInfo& k, int64_t out, size_t* used,
                                   std::vector<Access>* acc) {
    const GraphNode& node = g_.nodes[nid];
    const int64_t x = eid(node.inputs[0]);
    const Shape& xs = shape(x);
    const int64_t ndim = static_cast<int64_t>(xs.size());
    if (k.axes.empty() || sid(x) == sid(out)) return nullptr;
    std::vector<bool> flag(static_cast<size_t>(ndim), false);
    for (int64_t a : k.axes) {
      const int64_t d = a < 0 ? a + ndim : a;
      if (d < 0 || d >= ndim) return nullptr;
      flag[static_cast<size_t>(d)] = true;
    }
    if (k.b) flag.flip();
    int64_t first = ndim;
    while (first > 0 && flag[static_cast<size_t>(first - 1)]) --first;
    for (int64_t d = 0; d < first; ++d) {
      if (flag[static_cast<size_t>(d)]) return nullptr;
    }
    if (first == ndim) return nullptr;  // nothing reduced
    int64_t inner = 1;
    for (int64_t d = first; d < ndim; ++d) inner *= xs[static_cast<size_t>(d)];
    const int64_t rows = shape_size(xs) / inner;
    if (shape_size(shape(out)) != rows) return nullptr;
    acc->push_back({x, Access::kRead, -1});
    acc->push_back({out, Access::kWriteWhole, -1});
    *used = 1;
    return std::make_unique<ReduceStep>(nid, t_, x, out, rows, inner, k.a == 1);
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
    // Each inference starts by writing the input.
    input_ = Access{-1, Access::kWriteWhole, -1};
    for (uint32_t nid = 0; nid < g_.nodes.size(); ++nid) {
      if (g_.nodes[nid].is_data()) input_.eid = g_.entry_id(nid, 0);
    }
    std::vector<Access*> seq;
    if (input_.eid >= 0) seq.push_back(&input_);
    for (auto& acc : step_accesses) {
      for (Access& a : acc) seq.push_back(&a);
    }
    heads_.clear();
    for (const EntryRef& e : g_.heads) heads_.push_back({eid(e), Access::kRead, -1});
    for (Access& a : heads_) seq.push_back(&a);

    // Candidates, numbered in order; accesses by pool.
    std::vector<Access*> candidates;
    for (Access* a : seq) {
      if (a->candidate >= 0) {
        a->candidate = static_cast<int>(candidates.size());
        candidates.push_back(a);
      }
      by_pool_[sid(a->eid)].push_back(a);
    }
    skipped_.assign(candidates.size(), false);
    std::vector<const Access*> out;
    for (size_t c = 0; c < candidates.size(); ++c) {
      skipped_[c] = true;
      if (pool_consistent(by_pool_[sid(candidates[c]->eid)])) {
        out.push_back(candidates[c]);
      } else {
        skipped_[c] = false;
      }
    }
    skipped_count_ = static_cast<int>(out.size());
    return out;
  }

  // Byte activations. An entry whose values are provably int8 -- the
  // pattern of its producing fused step bounds them, it is the output of a
  // max_pool2d or concatenate of such entries, or it is the input, of
  // precision 8 or less -- is stored as int8 values at the start of its
  // pool when every read of it is by a step that takes bytes (ByteIO: its
  // data, or a residual operand) and comes right after its write (no write
  // to the pool in between). For every other read of the pool the byte
  // write counts as a write left out: the timeline of decide_skips must
  // show that no such read reaches the pool's changed bytes. Returns how many
  // entries are bytes.
  int decide_bytes(std::vector<std::unique_ptr<Step>>& steps,
                   const std::vector<std::vector<Access>>& step_accesses, bool* input_bytes) {
    if (!t_) return 0;
    struct Role {
      ByteIO* io;
      FusedStep* fused;  // null for max_pool2d, concatenate
      std::vector<int64_t> xs;
      int64_t out, operand;
      const Access* out_write;
      bool x_in_place;
      int operand_stage;
      bool bounded;  // by the pattern; else int8 when all the data's values are
    };
    std::set<int64_t> int8_values;  // entries whose values are provably int8
    std::vector<Role> roles;
    std::set<const Access*> byte_reads;  // reads their step can take as bytes
    for (size_t s = 0; s < steps.size(); ++s) {
      auto* io = dynamic_cast<ByteIO*>(steps[s].get());
      if (!io || !io->takes_bytes()) continue;
      auto* fused = dynamic_cast<FusedStep*>(steps[s].get());
      Role r{io, fused, io->data_eids(), kNoEntry, kNoEntry, nullptr, io->data_in_place(), -1,
             false};
      bool x_ok = true;
      if (fused) {
        const ChainPlan& cp = fused->chain_plan();
        const kernels::Chain shape = cp.shape_only();
        r.out = cp.final_eid;
        int32_t lo = 0, hi = -1;  // the final values' bounds
        switch (shape.pattern) {
          case kernels::Pattern::kClamp:
          case kernels::Pattern::kShiftClamp:
            lo = shape.lo1;
            hi = shape.hi1;
            break;
          case kernels::Pattern::kResidual:
            lo = shape.lo2;
            hi = shape.hi2;
            for (size_t k = 0; k < cp.stages.size(); ++k) {
              if (cp.stages[k].proto.op != StageOp::kBinary) continue;
              r.operand = cp.stages[k].operand_eid;
              r.operand_stage = static_cast<int>(k);
            }
            break;
          default:
            break;
        }
        r.bounded = lo >= -128 && hi <= 127 && lo <= hi;
        // Data read in place by a chain stage by stage: never bytes.
        x_ok = !r.x_in_place || shape.pattern != kernels::Pattern::kGeneric;
      } else {
        r.out = g_.entry_id(steps[s]->nodes().front(), 0);
      }
      for (const Access& a : step_accesses[s]) {
        if (a.type == Access::kRead &&
            ((a.data && x_ok) || (r.operand_stage >= 0 && a.stage == r.operand_stage))) {
          byte_reads.insert(&a);
        }
        if (a.type != Access::kRead && a.eid == r.out) r.out_write = &a;
      }
      roles.push_back(r);
    }
    // The input first, written before every step: int8 values when its
    // precision is at most 8 (the runtime clamps them to +-127 at most).
    if (input_.eid >= 0 && g_.precision[static_cast<size_t>(input_.eid)] <= 8) {
      roles.insert(roles.begin(),
                   Role{nullptr, nullptr, {}, input_.eid, kNoEntry, &input_, false, -1, true});
    }
    // In step order, so that a step bounded by its data knows the data's
    // bounds.
    std::set<int64_t> bytes;
    for (const Role& r : roles) {
      if (r.bounded || (!r.fused && std::all_of(r.xs.begin(), r.xs.end(), [&](int64_t x) {
                          return int8_values.count(x) > 0;
                        }))) {
        int8_values.insert(r.out);
      }
      if (!r.out_write || !int8_values.count(r.out)) continue;
      const std::vector<const Access*>& pool = by_pool_[sid(r.out)];
      std::vector<const Access*> reads;
      const Access* last_write = nullptr;
      bool ok = true;
      for (const Access* a : pool) {
        if (a->type != Access::kRead) {
          last_write = a;
        } else if (a->eid == r.out) {
          ok = ok && byte_reads.count(a) && last_write == r.out_write;
          reads.push_back(a);
        }
      }
      if (!ok) continue;
      byte_writes_.insert(r.out_write);
      exempt_.insert(reads.begin(), reads.end());
      if (pool_consistent(pool)) {
        bytes.insert(r.out);
      } else {
        byte_writes_.erase(r.out_write);
        for (const Access* a : reads) exempt_.erase(a);
      }
    }
    // A residual operand (or data read in place) in the pool the step
    // writes is read and written at the same index: both int8 or neither.
    // (Leaving an entry int32 never breaks a read: its reads follow its
    // write directly.)
    auto pair = [&](int64_t in, int64_t out) {
      if (in == kNoEntry || sid(in) != sid(out) || bytes.count(in) == bytes.count(out)) {
        return false;
      }
      bytes.erase(in);
      bytes.erase(out);
      return true;
    };
    for (bool changed = true; changed;) {
      changed = false;
      for (const Role& r : roles) {
        changed = pair(r.operand, r.out) || changed;
        if (r.x_in_place) changed = pair(r.xs.front(), r.out) || changed;
      }
    }
    *input_bytes = input_.eid >= 0 && bytes.count(input_.eid) > 0;
    for (const Role& r : roles) {
      if (!r.io) continue;  // the input
      r.io->use_bytes(bytes);
      if (r.fused) {
        r.fused->chain_plan().operand_bytes = r.operand != kNoEntry && bytes.count(r.operand) > 0;
      }
    }
    return static_cast<int>(bytes.size());
  }

  // Simulates one pool over consecutive inferences: bytes [lo, hi) may
  // differ from the plain executor's (writes in skipped_ left out, those in
  // byte_writes_ counted as left out, reads in exempt_ not counted). The
  // pools start equal; each inference starts from the previous one's end
  // state. False when a read can see differing bytes; true once the end
  // state repeats (every later inference then behaves the same).
  bool pool_consistent(const std::vector<const Access*>& accesses) const {
    int64_t lo = 0, hi = 0;
    for (int pass = 0; pass < 4; ++pass) {
      const int64_t start_lo = lo, start_hi = hi;
      for (const Access* a : accesses) {
        const int64_t n = bytes(a->eid);
        if (a->type == Access::kRead) {
          if (exempt_.count(a)) continue;
          if (lo < hi && n > lo) return false;
        } else if ((a->candidate >= 0 && skipped_[static_cast<size_t>(a->candidate)]) ||
                   byte_writes_.count(a)) {
          hi = std::max(hi, n);
          lo = 0;
        } else if (a->type == Access::kWriteWhole && lo < hi) {
          lo = std::max(lo, n);
          if (lo >= hi) lo = hi = 0;
        }
      }
      if (lo == start_lo && hi == start_hi) return true;
    }
    return false;
  }

  const Graph& g_;
  const kernels::Table* t_;
  ParamLookup params_;
  const void* params_ctx_;
  std::map<int, int> users_;
  std::map<int, bool> written_;
  std::vector<uint32_t> order_;
  int skipped_count_ = 0;
  // The timeline of decide_skips: the input's write, the heads' reads,
  // every access by pool, the candidate writes left out, reads not counted.
  Access input_{-1, Access::kWriteWhole, -1};
  std::vector<Access> heads_;
  std::map<int, std::vector<const Access*>> by_pool_;
  std::vector<bool> skipped_;
  std::set<const Access*> byte_writes_, exempt_;
  std::map<int64_t, std::set<uint32_t>> packed_;  // weight entry -> nodes using it packed
};

}  // namespace

double set_min_parallel_work(double work) { return min_parallel_work.exchange(work); }

std::unique_ptr<Plan> make_plan(const Graph& graph, const kernels::Table* table,
                                ParamLookup params, const void* params_ctx) {
  Planner planner(graph, table, params, params_ctx);
  return planner.build();
}

}  // namespace cvm
