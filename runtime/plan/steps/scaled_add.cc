// The quantizer's residual add: two entries each times a per-channel (or
// single) multiplier, the products summed, then the element-wise nodes
// after the sum (its chain): y = chain(a * Ma + b * Mb), plane by plane.
//
// Fused, the products and the sum are never stored: that needs the planner
// to leave out both products' writes (nothing else reads them). When it
// cannot, the three nodes run as plain steps and the chain after them reads
// the sum from memory, which is the plain executor's order exactly.
#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "runtime/plan/step_support.h"
#include "runtime/plan/steps.h"

namespace cvm {
namespace planning {
namespace {

constexpr int64_t kPiece = 4096;  // values a piece at most

class ScaledAddStep : public FusedStep, public ByteIO {
 public:
  ScaledAddStep(std::vector<uint32_t> nodes, const Graph& g, const kernels::Table* t,
                ScaledTerm a, ScaledTerm b, ChainPlan chain, const Shape& shape)
      : FusedStep(std::move(chain)), nodes_(std::move(nodes)), t_(t), a_(a), b_(b) {
    n_ = shape[0];
    c_ = shape[1];
    plane_ = shape[2] * shape[3];
    for (size_t k = 0; k < 3; ++k) plain_.push_back(make_plain_step(g.nodes[nodes_[k]], nodes_[k]));
    sum_ = g.entry_id(nodes_[2], 0);
    a_shares_ = g.pool[static_cast<size_t>(a_.x)] == g.pool[static_cast<size_t>(chain_.final_eid)];
    b_shares_ = g.pool[static_cast<size_t>(b_.x)] == g.pool[static_cast<size_t>(chain_.final_eid)];
  }

  ByteIO* byte_io() override { return this; }
  const char* kind() const override { return "scaled_add"; }
  std::vector<uint32_t> nodes() const override { return nodes_; }
  std::vector<bool> stored() const override {
    std::vector<bool> out{write_a_ || !fused_mode(), write_b_ || !fused_mode(),
                          chain_.source_write_eid != kNoEntry || !fused_mode()};
    for (const StagePlan& st : chain_.stages) out.push_back(st.write_eid != kNoEntry);
    return out;
  }
  size_t thread_words() const override { return static_cast<size_t>(kPiece); }

  // The products' writes are candidates -2 (a) and -3 (b).
  void leave_out(int stage) override {
    if (stage == -2) {
      write_a_ = false;
    } else if (stage == -3) {
      write_b_ = false;
    } else {
      FusedStep::leave_out(stage);
    }
  }

  // The term whose data shares the final entry's pool first (the byte
  // planner pairs it with the output).
  std::vector<int64_t> data_eids() const override {
    if (b_shares_ && !a_shares_) return {b_.x, a_.x};
    return {a_.x, b_.x};
  }
  // Bytes in and out only fused, with nothing stored but the final entry
  // (an int32 store into a pool that holds byte data would overtake reads
  // of other pieces) and a pattern that the byte store takes.
  bool takes_bytes() const override {
    if (!fused_mode() || chain_.source_write_eid != kNoEntry) return false;
    for (size_t k = 0; k + 1 < chain_.stages.size(); ++k) {
      if (chain_.stages[k].write_eid != kNoEntry) return false;
    }
    if (a_shares_ && b_shares_ && a_.x != b_.x) return false;
    const kernels::Pattern p = chain_.shape_only().pattern;
    return p != kernels::Pattern::kGeneric && p != kernels::Pattern::kResidual;
  }
  // Each piece is read before its values are written.
  bool data_in_place() const override { return true; }
  void use_bytes(const std::set<int64_t>& bytes) override {
    a_bytes_ = bytes.count(a_.x) > 0;
    b_bytes_ = bytes.count(b_.x) > 0;
    chain_.final_bytes = bytes.count(chain_.final_eid) > 0;
  }

  void run(ExecContext& ctx) const override {
    if (!fused_mode()) {
      for (const auto& s : plain_) s->run(ctx);
      run_chain_on_sum(ctx);
      return;
    }
    const kernels::Chain chain = chain_.bind(ctx);
    const int32_t* xa = ctx.data(a_.x);
    const int32_t* xb = ctx.data(b_.x);
    const int32_t* ma = ctx.data(a_.mul);
    const int32_t* mb = ctx.data(b_.mul);
    const int8_t* xa8 = a_bytes_ ? reinterpret_cast<const int8_t*>(xa) : nullptr;
    const int8_t* xb8 = b_bytes_ ? reinterpret_cast<const int8_t*>(xb) : nullptr;
    const int threads = threads_for(ctx, static_cast<double>(n_ * c_ * plane_) * 4);
    if (one_multiplier_each() && chain.pattern != kernels::Pattern::kGeneric &&
        chain.pattern != kernels::Pattern::kRequant && chain.pattern != kernels::Pattern::kResidual) {
      // Nothing differs between channels: pieces of the whole tensor (a
      // call a plane costs more than the values of a 7 x 7 plane).
      const int32_t ka = ma[0], kb = mb[0];
      const int64_t total = n_ * c_ * plane_;
      parallel(ctx, ceil_div(total, kPiece), threads, [&](int64_t b, int64_t e, int) {
        const int64_t begin = b * kPiece, len = std::min(total, e * kPiece) - begin;
        t_->scale_add_chain(chain, xa + begin, xa8 ? xa8 + begin : nullptr, ka, xb + begin,
                            xb8 ? xb8 + begin : nullptr, kb, 0, len, begin, 0);
      });
      return;
    }
    const int64_t per_plane = ceil_div(plane_, kPiece);
    parallel(ctx, n_ * c_ * per_plane, threads, [&](int64_t b, int64_t e, int thread) {
      int32_t* sum = reinterpret_cast<int32_t*>(ctx.scratch[thread]);
      for (int64_t i = b; i < e; ++i) {
        const int64_t p = i / per_plane, n = p / c_, c = p % c_;
        const int64_t begin = (i % per_plane) * kPiece;
        const int64_t len = std::min(kPiece, plane_ - begin);
        const int64_t flat = p * plane_ + begin;
        const int32_t ka = ma[n * a_.stride_n + c * a_.stride_c];
        const int32_t kb = mb[n * b_.stride_n + c * b_.stride_c];
        const int8_t* a8 = xa8 ? xa8 + flat : nullptr;
        const int8_t* b8 = xb8 ? xb8 + flat : nullptr;
        if (t_->scale_add_chain(chain, xa + flat, a8, ka, xb + flat, b8, kb, 0, len, flat, c)) {
          continue;
        }
        t_->scale_add(xa + flat, a8, ka, xb + flat, b8, kb, len, sum);
        if (!chain.final_bytes) {
          t_->chain(chain, sum, len, flat, n, c, 0);
          continue;
        }
        // The pattern's values into the sums, then stored as int8.
        kernels::Chain local = chain;
        local.final_write = sum;
        t_->chain(local, sum, len, 0, n, c, 0);
        narrow(sum, len, chain.final_bytes + flat);
      }
    });
  }

 private:
  bool fused_mode() const { return !write_a_ && !write_b_; }
  // Both multipliers one value for every image and channel.
  bool one_multiplier_each() const {
    return a_.stride_n == 0 && a_.stride_c == 0 && b_.stride_n == 0 && b_.stride_c == 0;
  }

  // The chain over the sum as stored by the plain sum node.
  void run_chain_on_sum(ExecContext& ctx) const {
    if (chain_.stages.empty()) return;
    ChainPlan plan = chain_;
    plan.source_write_eid = kNoEntry;  // written by the plain node
    const kernels::Chain chain = plan.bind(ctx);
    const int32_t* src = ctx.data(sum_);
    const int64_t planes = n_ * c_;
    parallel(ctx, planes, threads_for(ctx, static_cast<double>(planes * plane_) * 4),
             [&](int64_t b, int64_t e, int) {
               for (int64_t p = b; p < e; ++p) {
                 t_->chain(chain, src + p * plane_, plane_, p * plane_, p / c_, p % c_, 0);
               }
             });
  }

  std::vector<uint32_t> nodes_;
  const kernels::Table* t_;
  ScaledTerm a_, b_;
  int64_t sum_ = kNoEntry;
  bool a_shares_ = false, b_shares_ = false;  // data in the final entry's pool
  int64_t n_ = 1, c_ = 1, plane_ = 1;
  std::vector<std::unique_ptr<Step>> plain_;
  bool write_a_ = true, write_b_ = true;
  bool a_bytes_ = false, b_bytes_ = false;
};

}  // namespace

std::unique_ptr<Step> make_scaled_add_step(std::vector<uint32_t> nodes, const Graph& g,
                                           const kernels::Table* t, ScaledTerm a, ScaledTerm b,
                                           ChainPlan chain, const Shape& shape) {
  return std::make_unique<ScaledAddStep>(std::move(nodes), g, t, a, b, std::move(chain), shape);
}

}  // namespace planning
}  // namespace cvm
