// conv2d with groups == 1 as an int8 matrix product ("implicit GEMM").
//
// The data is packed once per inference into words of `group` channels in
// the phase layout ([n][channel group][block][row][column]); row k = (channel
// group, fh, fw) of the im2col matrix is then the run starting at koff[k]
// from a grid position, read in place. Each tile of nr * lanes grid positions
// is multiplied with the pre-packed weights ([oc block][k][mr] words) in
// chunks of kc rows, and the epilogue runs the chain on the output pixels.
//
// With a pointwise prologue (see PointwisePrologue), the words are packed
// from the prologue step's input: each piece of a channel goes through that
// step's per-channel product and chain into a small buffer first.
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "base/memory.h"
#include "runtime/plan/conv_geometry.h"
#include "runtime/plan/step_support.h"
#include "runtime/plan/steps.h"

namespace cvm {
namespace planning {
namespace {

// Values of the prologue computed per piece of a channel.
constexpr int64_t kProloguePiece = 512;

// Units of (tile, oc blocks) a thread when a grid has too few tiles to split.
constexpr int64_t kUnitsPerThread = 16;

// The prologue as run: the step's input, taps and bias, and its chain.
struct PrologueRun {
  kernels::Chain chain;
  const int8_t* table = nullptr;  // the values by input byte (int8 data), or null
  const int32_t* x = nullptr;
  const int8_t* x8 = nullptr;
  const int32_t* w = nullptr;
  const int32_t* bias = nullptr;
};

class ConvGemmStep : public ByteStep {
 public:
  // pack_first: the group writes where the data is, so all of it is packed
  // before any output is written (else each thread packs what it reads).
  ConvGemmStep(std::vector<uint32_t> nodes, const kernels::Table* t, const ConvShape& g,
               int64_t x_eid, int64_t bias_eid, const ParamView& weight, ChainPlan chain,
               bool pack_first, PointwisePrologue prologue)
      : ByteStep(std::move(chain)), nodes_(std::move(nodes)), t_(t), conv_(g), x_(x_eid),
        bias_(bias_eid), pg_(g, true), pack_first_(pack_first), pro_(std::move(prologue)) {
    if (pro_.step) set_prologue_chain();
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
    int64_t released = 0;
    for (int64_t oc = 0; oc < g.o; ++oc) {
      weight.read(oc * row, row, wrow.data());
      if ((oc + 1) * row - released >= kReleaseElements || oc + 1 == g.o) {
        weight.release_range(released, (oc + 1) * row);
        released = (oc + 1) * row;
      }
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
    const size_t own = static_cast<size_t>(
        bias_words() + (pack_first_ ? conv_.n * window(0, pg_.grid).words : 0));
    return pro_.step ? std::max(own, pro_.step->shared_words()) : own;
  }
  size_t thread_words() const override {
    // Packed window, offsets (int64), then tile accumulators or row scratch
    // (transposed: accumulators, values for a generic chain).
    const int64_t rest =
        transposed_
            ? std::max(ceil_div(conv_.pixels(), 7) * 7 * 48 + 48 * conv_.pixels(), pg_.wp)
            : std::max(ob_ * t_->mr * nb_, pg_.wp);
    const size_t own = static_cast<size_t>(max_window_words() + 2 + 2 * k_ + rest);
    // The prologue's buffer last.
    if (!pro_.step) return own;
    return std::max(own + static_cast<size_t>(prologue_words()), pro_.step->thread_words());
  }
  const char* kind() const override { return "conv_gemm"; }
  std::vector<uint32_t> nodes() const override {
    if (!pro_.step) return nodes_;
    std::vector<uint32_t> out = pro_.step->nodes();
    out.insert(out.end(), nodes_.begin(), nodes_.end());
    return out;
  }
  std::vector<bool> stored() const override {
    std::vector<bool> own = FusedStep::stored();
    if (!pro_.step) return own;
    std::vector<bool> out = pro_.step->stored();
    if (!out.empty()) out.back() = !prologue_on();  // the step's output
    out.insert(out.end(), own.begin(), own.end());
    return out;
  }
  void leave_out(int stage) override {
    if (stage >= -1) {
      FusedStep::leave_out(stage);
    } else if (prologue_stage(stage) == y_stage_) {  // prologue_stage is its own inverse
      y_left_out_ = true;  // the step writes it unless the prologue runs
    } else {
      pro_.step->fused()->leave_out(prologue_stage(stage));
    }
  }
  std::vector<int64_t> data_eids() const override { return {pro_.step ? pro_.x : x_}; }
  bool takes_bytes() const override {
    return t_->pack_bytes != nullptr && (!pro_.step || pro_.step->byte_io()->takes_bytes());
  }
  void use_bytes(const std::set<int64_t>& bytes) override {
    if (!pro_.step) {
      ByteStep::use_bytes(bytes);
      return;
    }
    // The step's output is no step's role: never bytes.
    pro_.step->byte_io()->use_bytes(bytes);
    pro_x_bytes_ = bytes.count(pro_.x) > 0;
    x_bytes_ = bytes.count(x_) > 0;
    chain_.final_bytes = bytes.count(chain_.final_eid) > 0;
  }
  // The data is packed before anything is written (pack_first).
  bool data_in_place() const override { return false; }
  void set_data_bytes(bool on) override { x_bytes_ = on; }

  void run(ExecContext& ctx) const override {
    PrologueRun pr;
    const PrologueRun* pro = nullptr;
    if (pro_.step) {
      if (prologue_on()) {
        bind_prologue(ctx, &pr);
        pro = &pr;
      } else {
        pro_.step->run(ctx);
      }
    }
    kernels::Chain chain = chain_.bind(ctx);
    const int32_t* x = ctx.data(x_);
    int32_t* bias = reinterpret_cast<int32_t*>(ctx.shared);
    if (bias_ != kNoEntry) {
      std::memcpy(bias, ctx.data(bias_), static_cast<size_t>(conv_.o) * sizeof(int32_t));
    } else {
      std::fill_n(bias, conv_.o, 0);
    }
    // Each word holds at most four products of int8 values (the data is
    // packed as int8).
    kernels::set_rounding(chain, k_ * 4 * 16384, bias, conv_.o);
    int32_t* adds = bias + channel_words();
    int32_t* muls = adds + channel_words();
    for (int64_t oc = 0; oc < channel_words(); ++oc) {
      const bool real = oc < conv_.o;
      adds[oc] = real ? static_cast<int32_t>(static_cast<uint32_t>(bias[oc]) -
                                             static_cast<uint32_t>(comp_[oc]))
                      : 0;
      muls[oc] = real && chain.pattern == kernels::Pattern::kRequant ? chain.mul_of(oc) : 0;
    }
    const double macs = static_cast<double>(conv_.n) * conv_.o * pg_.grid * k_ * t_->group;
    const int threads = threads_for(ctx, macs / 16);
    if (transposed_) {
      run_transposed(ctx, chain, x, pro, bias, threads);
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
    // (reading what another core wrote is slow); else the channels too, in
    // about kUnitsPerThread units a thread, so that the threads finish
    // together (a 14 x 14 grid is 5 tiles, the last of 18 positions: in 2
    // segments a tile, one thread had 7.5 vectors of work to the other's
    // 6.5; those layers 7% faster at two threads in 7 segments).
    const int64_t segments =
        threads > 1 && conv_.n * tiles_ < 4 * threads
            ? std::min(ob_, ceil_div(kUnitsPerThread * threads, conv_.n * tiles_))
            : 1;
    // A chunk's window reaches a thread's share of the grid (what its next
    // chunks read, unless another thread takes them).
    const int64_t span = ceil_div(tiles_ * nb_, threads);
    const int64_t units = conv_.n * tiles_ * segments;
    const uint32_t* packed = pack_all(ctx, x, pro, threads);
    std::vector<PackedWindow> last(static_cast<size_t>(ctx.threads()));
    parallel(ctx, units, threads, [&](int64_t first, int64_t end, int thread) {
      // Image by image.
      for (int64_t u0 = first; u0 < end;) {
        const int64_t n = u0 / segments / tiles_;
        const int64_t u1 = std::min(end, (n + 1) * segments * tiles_);
        run_units(chain, x, pro, packed, bias, n, u0, u1, segments, one_chunk, pass, span,
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
  // The shared words before the packed data: per output channel its bias,
  // then its bias - compensation (what the accumulators start at), then a
  // kRequant's multiplier (else 0); each of whole vectors of 16.
  int64_t channel_words() const { return ceil_div(conv_.o, int64_t{16}) * 16; }
  int64_t bias_words() const { return 3 * channel_words(); }
  int64_t max_window_words() const {
    return window(0, pg_.grid).words;
  }

  // With pack_first, every image packed whole into the shared memory before
  // anything is written (returned); else null (each unit packs its window).
  const uint32_t* pack_all(ExecContext& ctx, const int32_t* x, const PrologueRun* pro,
                           int threads) const {
    if (!pack_first_) return nullptr;
    uint32_t* packed = ctx.shared + bias_words();
    const Window w = window(0, pg_.grid);
    parallel(ctx, conv_.n * cg_, threads, [&](int64_t b, int64_t e, int thread) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t n = i / cg_, cg = i % cg_;
        pack_plane(x, pro, n, cg, packed + n * w.words + cg * w.plane, ctx.scratch[thread],
                   prologue_buffer(ctx.scratch[thread]), w);
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
                      const PrologueRun* pro, const int32_t* bias, int threads) const {
    const uint32_t* packed = pack_all(ctx, x, pro, threads);
    const Window w = window(0, pg_.grid);
    const int64_t groups = ceil_div(conv_.o, 48);
    const int64_t pixels = conv_.pixels();
    const int64_t pblocks = ceil_div(pixels, 7);
    // Units of (image, 48 filters, part of the pixel blocks): the pixels are
    // split too when there are few groups of filters a thread (256 filters
    // are 5 groups and a third: one thread would do 3 full groups, the
    // other 2 and the third), so that the threads finish together; parts of
    // at least 2^20 products (smaller ones cost more to hand out than they
    // even out).
    const int64_t group_macs = 48 * pixels * k_ * t_->group;
    const int64_t parts =
        threads > 1 ? std::max<int64_t>(
                          1, std::min({pblocks, ceil_div(int64_t(8) * threads, conv_.n * groups),
                                       group_macs >> 20}))
                    : 1;
    // Per thread: the image its scratch holds packed (from its last chunk).
    std::vector<PackedWindow> image(static_cast<size_t>(ctx.threads()));
    parallel(ctx, conv_.n * groups * parts, threads, [&](int64_t b, int64_t e, int thread) {
      uint32_t* scratch = ctx.scratch[thread];
      int64_t* koff = reinterpret_cast<int64_t*>(scratch + w.words + (w.words & 1));
      int32_t* c = reinterpret_cast<int32_t*>(koff + k_);
      int32_t* tmp = c + pblocks * 7 * 48;
      // Per output channel, prepared by run (see bias_words).
      const int32_t* adds = bias + channel_words();
      const int32_t* muls = adds + channel_words();
      int64_t& cur = image[static_cast<size_t>(thread)].n;
      const uint32_t* base = cur < 0 ? nullptr : packed ? packed + cur * w.words : scratch;
      for (int64_t u = b; u < e; ++u) {
        const int64_t n = u / parts / groups, gi = u / parts % groups, part = u % parts;
        const int64_t pb0 = pblocks * part / parts, pb1 = pblocks * (part + 1) / parts;
        if (n != cur) {
          base = prepare(x, pro, packed, n, w, scratch, koff, c);
          cur = n;
        }
        const int64_t oc0 = gi * 48;
        const int noc = static_cast<int>(std::min<int64_t>(48, conv_.o - oc0));
        for (int64_t k0 = 0; k0 < k_; k0 += kct_) {
          const int64_t kc = std::min(kct_, k_ - k0);
          const uint32_t* at = a_.data() + (gi * k_ + k0) * 48;
          // The weights come from memory (read once an inference): while the
          // second and later pixel blocks reuse this chunk from cache, they
          // ask for the next one (it follows this one in a_), two lines an
          // iteration each. Without it, the first block of every chunk waits
          // on memory (resnet50's and inception_v3's small grids).
          const kernels::Prefetch next = weights_ahead(at + kc * 48, kct_ * 48);
          for (int64_t pb = pb0; pb < pb1; ++pb) {
            const int rows = static_cast<int>(std::min<int64_t>(7, pixels - pb * 7));
            kernels::Prefetch ahead;
            const int64_t first = (pb - pb0 - 1) * 2 * kc;
            if (pb > pb0 && first < next.lines) {
              ahead.at = next.at + first * 64;
              ahead.lines = std::min(2 * kc, next.lines - first);
            }
            t_->gemm_t(at, base, koff + k0, pos_.data() + pb * 7, rows, kc, c + pb * 7 * 48,
                       k0 > 0, noc, ahead);
          }
        }
        const int64_t flat0 = (n * conv_.o + oc0) * pixels;
        for (int64_t pb = pb0; pb < pb1; ++pb) {
          const int rows = static_cast<int>(std::min<int64_t>(7, pixels - pb * 7));
          t_->epilogue_t(chain, c + pb * 7 * 48, rows, pix_.data() + pb * 7, flat0, pixels, noc,
                         adds + oc0, muls + oc0, tmp);
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

  // The packed window of image n (packed here into `scratch`, the thread's
  // scratch, unless `packed` holds all images) and its offsets; `row` is row
  // scratch.
  const uint32_t* prepare(const int32_t* x, const PrologueRun* pro, const uint32_t* packed,
                          int64_t n, const Window& w, uint32_t* scratch, int64_t* koff,
                          void* row) const {
    const uint32_t* xq = packed ? packed + n * w.words : scratch;
    if (!packed) {
      for (int64_t cg = 0; cg < cg_; ++cg) {
        pack_plane(x, pro, n, cg, scratch + cg * w.plane, static_cast<uint32_t*>(row),
                   prologue_buffer(scratch), w);
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
  void run_units(const kernels::Chain& chain, const int32_t* x, const PrologueRun* pro,
                 const uint32_t* packed, const int32_t* bias, int64_t n, int64_t u0, int64_t u1,
                 int64_t segments, bool one_chunk, int64_t pass, int64_t span, uint32_t* scratch,
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
    const uint32_t* base = fresh ? prepare(x, pro, packed, n, w, scratch, koff, rest)
                                 : (packed ? packed + n * w.words : scratch) - w.r0 * pg_.rs;
    if (one_chunk && segments == 1) {
      for (int64_t t0 = tile0; t0 < tile1; t0 += pass) {
        const int64_t t1 = std::min(tile1, t0 + pass);
        for (int64_t ob = 0; ob < ob_; ++ob) {
          for (int64_t tile = t0; tile < t1; ++tile) {
            // The pass's last tile asks for the next block's weights.
            const bool ask = tile + 1 == t1 && ob + 1 < ob_;
            run_unit(chain, base, koff, bias, n, tile, ob, ob + 1, rest, ask ? block_weights(ob + 1, 0) : nullptr);
          }
        }
      }
      return;
    }
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t s = u % segments, tile = (u / segments) % tiles_;
      const int64_t ob0 = (ob_ * s) / segments, ob1 = (ob_ * (s + 1)) / segments;
      run_unit(chain, base, koff, bias, n, tile, ob0, ob1, rest, nullptr);
    }
  }

  // The weights of oc block ob from row k0 (non-transposed).
  const uint32_t* block_weights(int64_t ob, int64_t k0) const {
    return a_.data() + (ob * k_ + k0) * t_->mr;
  }
  // The cache lines of `words` words of the packed weights from `at` (none
  // past their end).
  kernels::Prefetch weights_ahead(const uint32_t* at, int64_t words) const {
    kernels::Prefetch p;
    p.at = reinterpret_cast<const char*>(at);
    const int64_t bytes = std::min<int64_t>(words, a_.data() + a_.size() - at) * 4;
    p.lines = ceil_div(bytes, int64_t{64});
    return p;
  }

  // Words of `channels` channels (`cs` values apart, cs the plane) of
  // `count` pixels from value `at` of the data; with the prologue, of the
  // values it computes from its input at the same indices (in `buffer`,
  // prologue_words() words, piece by piece).
  void pack(const int32_t* x, const PrologueRun* pro, int64_t at, int64_t cs, int channels,
            int64_t count, uint32_t* out, uint32_t* buffer) const {
    if (pro) {
      kernels::Chain ch = pro->chain;
      int8_t* bytes = t_->pack_bytes ? reinterpret_cast<int8_t*>(buffer) : nullptr;
      int32_t* words = reinterpret_cast<int32_t*>(buffer);
      ch.final_bytes = bytes;
      ch.final_write = bytes ? nullptr : words;
      const int64_t c0 = (at / cs) % conv_.c;
      for (int64_t done = 0; done < count; done += kProloguePiece) {
        const int64_t len = std::min(kProloguePiece, count - done);
        for (int j = 0; j < channels; ++j) {
          const int64_t c = c0 + j, src = at + j * cs + done;
          if (pro->table) {
            t_->lookup_bytes(pro->x8 + src, len, pro->table + c * 256, bytes + j * kProloguePiece);
            continue;
          }
          const int32_t* xv = pro->x8 ? nullptr : pro->x + src;
          const int8_t* x8 = pro->x8 ? pro->x8 + src : nullptr;
          t_->scale_add_chain(ch, xv, x8, pro->w[c], xv, x8, 0, pro->bias ? pro->bias[c] : 0,
                              len, j * kProloguePiece, c);
        }
        if (bytes) {
          t_->pack_bytes(bytes, kProloguePiece, channels, len, out + done);
        } else {
          t_->pack_words(words, kProloguePiece, channels, len, out + done);
        }
      }
      return;
    }
    if (x_bytes_) {
      t_->pack_bytes(reinterpret_cast<const int8_t*>(x) + at, cs, channels, count, out);
    } else {
      t_->pack_words(x + at, cs, channels, count, out);
    }
  }

  void pack_plane(const int32_t* x, const PrologueRun* pro, int64_t n, int64_t cg, uint32_t* dst,
                  uint32_t* tmp, uint32_t* buffer, const Window& w) const {
    const int64_t group = t_->group;
    const int channels = static_cast<int>(std::min<int64_t>(group, conv_.c - cg * group));
    const int64_t plane = conv_.h * conv_.w;
    const int64_t src = (n * conv_.c + cg * group) * plane;
    const uint32_t pad = t_->pad_word;
    if (conv_.ph == 0 && conv_.pw == 0 && conv_.sh == 1 && conv_.sw == 1 &&
        pg_.plane_words == plane) {
      // One run: rows [r0, min(r1, h)) of the plane, then padding.
      const int64_t rows = std::max<int64_t>(0, std::min(w.r1, conv_.h) - w.r0);
      pack(x, pro, src + w.r0 * conv_.w, plane, channels, rows * conv_.w, dst, buffer);
      std::fill_n(dst + rows * conv_.w, w.bw - rows * conv_.w, pad);
      return;
    }
    // A row's values: its padded row, or with a shared gap its left padding
    // and its values (the right padding is the next row's left).
    const int64_t row_words = pg_.shared_gap ? pg_.rs : pg_.wp;
    pg_.fill_rows<uint32_t>(dst, pad, tmp, [&](int64_t i, uint32_t* row) {
      const int64_t xi = i - conv_.ph;
      if (xi < 0 || xi >= conv_.h) {
        std::fill_n(row, row_words, pad);
        return;
      }
      std::fill_n(row, conv_.pw, pad);
      pack(x, pro, src + xi * conv_.w, plane, channels, conv_.w, row + conv_.pw, buffer);
      std::fill_n(row + conv_.pw + conv_.w, row_words - conv_.pw - conv_.w, pad);
    }, w.r0, w.r1, w.bw, t_->split_phases);
  }

  // `next`: the weights the caller computes with next, after these blocks'
  // last chunk (asked for meanwhile), or null.
  void run_unit(const kernels::Chain& chain, const uint32_t* base, const int64_t* koff,
                const int32_t* bias, int64_t n, int64_t tile, int64_t ob0, int64_t ob1,
                uint32_t* scratch, const uint32_t* next) const {
    const int64_t p0 = tile * nb_;
    const int64_t np = std::min(nb_, pg_.grid - p0);
    const int nvec = static_cast<int>(ceil_div(np, t_->lanes));
    const int64_t mr = t_->mr;
    int32_t* ctile = reinterpret_cast<int32_t*>(scratch);
    // Per output channel, prepared by run (see bias_words).
    const int32_t* adds = bias + channel_words();
    const int32_t* muls = adds + channel_words();
    const uint32_t* b = base + p0;
    const int64_t pixels = conv_.pixels();
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
        const uint32_t* a = block_weights(ob, k0);
        // The weights of the block after this one (come from memory for the
        // first tile: read once an inference), a line an iteration.
        const kernels::Prefetch ahead =
            ob + 1 < ob1 ? weights_ahead(block_weights(ob + 1, k0), kc * mr)
            : !last      ? weights_ahead(block_weights(ob0, k0 + kc), std::min(kc_, k_ - k0 - kc) * mr)
            : next       ? weights_ahead(next, std::min(kc_, k_) * mr)
                         : kernels::Prefetch();
        const int64_t oc0 = ob * mr;
        const int rows = static_cast<int>(std::min(mr, conv_.o - oc0));
        const int32_t* add = adds + oc0;
        const int32_t* mul = muls + oc0;
        if (last) {
          // The last chunk with the epilogue on the registers.
          if (fused && t_->gemm_fused(a, b, koff + k0, kc, k0 > 0 ? c : nullptr, nb_, chain,
                                      (n * conv_.o + oc0) * pixels, pixels, rows, add, mul, map,
                                      ahead)) {
            continue;
          }
        }
        t_->gemm(a, b, koff + k0, kc, c, nb_, nvec, k0 > 0, ahead);
        if (!last || nsegs == 0) continue;
        t_->epilogue(chain, c, nb_, rows, segs, nsegs, (n * conv_.o + oc0) * pixels, pixels, n, oc0,
                     add);
      }
    }
  }

  // The prologue's buffer: words of `group` channels' pieces (int32 where
  // there is no byte packing), at the end of a thread's scratch.
  int64_t prologue_words() const { return pro_.step ? t_->group * kProloguePiece : 0; }
  uint32_t* prologue_buffer(uint32_t* thread_scratch) const {
    return thread_scratch + (thread_words() - static_cast<size_t>(prologue_words()));
  }

  // The prologue chain: the step's chain storing only its final value (the
  // pattern that value takes), and where its output's write is.
  void set_prologue_chain() {
    pro_chain_ = pro_.chain.final_only();
    y_stage_ = static_cast<int>(pro_chain_.stages.size()) - 1;
    const kernels::Chain shape = pro_chain_.shape_only();
    const kernels::Pattern p = shape.pattern;
    pro_pattern_ok_ = t_->scale_add_chain && shape.int8_values() &&
                      (p == kernels::Pattern::kClamp || p == kernels::Pattern::kShiftClamp ||
                       p == kernels::Pattern::kRequant);
  }
  // Whether the prologue runs: its pattern fits, and the timeline left out
  // every write of the step (its output's and its intermediates').
  bool prologue_on() const {
    if (!pro_.step || !pro_pattern_ok_ || !y_left_out_) return false;
    const ChainPlan& cp = pro_.step->fused()->chain_plan();
    if (y_stage_ >= 0 && cp.source_write_eid != kNoEntry) return false;
    for (int k = 0; k < y_stage_; ++k) {
      if (cp.stages[static_cast<size_t>(k)].write_eid != kNoEntry) return false;
    }
    return true;
  }
  void bind_prologue(const ExecContext& ctx, PrologueRun* pr) const {
    pr->x = ctx.data(pro_.x);
    pr->x8 = pro_x_bytes_ ? reinterpret_cast<const int8_t*>(pr->x) : nullptr;
    if (pr->x8 && pro_.table && t_->pack_bytes) {
      pr->table = pro_.table->data();
      return;  // the lookups need nothing else
    }
    pr->chain = pro_chain_.bind(ctx);
    pr->w = ctx.data(pro_.w);
    pr->bias = pro_.bias != kNoEntry ? ctx.data(pro_.bias) : nullptr;
    // As the step alone rounds.
    if (pr->x8) set_pointwise_rounding(pr->chain, pr->w, pr->bias, conv_.c);
  }

  std::vector<uint32_t> nodes_;
  const kernels::Table* t_;
  ConvShape conv_;
  int64_t x_, bias_;
  PhaseGrid pg_;
  bool pack_first_ = false;
  bool x_bytes_ = false;
  PointwisePrologue pro_;
  ChainPlan pro_chain_;
  int y_stage_ = -1;
  bool pro_pattern_ok_ = false, y_left_out_ = false, pro_x_bytes_ = false;
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

}  // namespace

std::unique_ptr<Step> make_conv2d_gemm_step(std::vector<uint32_t> nodes, const kernels::Table* t,
                                            const ConvShape& g, int64_t x_eid, int64_t bias_eid,
                                            const ParamView& weight, ChainPlan chain,
                                            bool pack_first, PointwisePrologue prologue) {
  return std::make_unique<ConvGemmStep>(std::move(nodes), t, g, x_eid, bias_eid, weight,
                                        std::move(chain), pack_first, std::move(prologue));
}

}  // namespace planning
}  // namespace cvm
