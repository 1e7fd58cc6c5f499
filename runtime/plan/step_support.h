// What the steps of a plan share: chains as planned (entry ids) and as run
// (pointers), the step bases the planner's passes work on (FusedStep: a
// step ending in a chain whose writes may be dropped; ByteIO: a step that
// can read and write int8 activations), and how a step spreads over threads.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <utility>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels/thread_pool.h"
#include "runtime/plan.h"

namespace cvm {
namespace planning {

using kernels::BinOp;
using kernels::OperandMode;
using kernels::StageOp;

constexpr int64_t kNoEntry = -1;

// Elements of a weight packed between two calls of ParamView::release_range
// (a few MiB of a mapped blob resident at a time).
constexpr int64_t kReleaseElements = int64_t(1) << 22;

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Byte activations to and from int32 (the int32 values fit int8).
inline void widen(const int8_t* x, int64_t n, int32_t* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i];
}
inline void narrow(const int32_t* x, int64_t n, int8_t* y) {
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
  // Byte activations (see runtime/plan/byte_activations.h): the final entry, and the
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
  // The chain storing its final value only (in final_eid), none of the
  // values before it.
  ChainPlan final_only() const {
    ChainPlan out = *this;
    out.source_write_eid = kNoEntry;
    for (StagePlan& st : out.stages) st.write_eid = kNoEntry;
    if (out.stages.empty()) {
      out.source_write_eid = out.final_eid;
    } else {
      out.stages.back().write_eid = out.final_eid;
    }
    return out;
  }
  // The chain with entry e's values at data(e) (at plan time: constants).
  template <typename F>
  kernels::Chain bind_to(const F& data) const {
    return with_pointers(data);
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
  FusedStep* fused() override { return this; }
  ChainPlan& chain_plan() { return chain_; }
  // The planner leaves out the write of candidate `stage` (its Access::stage:
  // -1 the source's own entry, else a chain stage's; steps with other
  // candidates number them below -1).
  virtual void leave_out(int stage) {
    if (stage < 0) {
      chain_.source_write_eid = kNoEntry;
    } else {
      chain_.stages[static_cast<size_t>(stage)].write_eid = kNoEntry;
    }
  }
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
// int8 values (byte activations, runtime/plan/byte_activations.h).
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
  ByteIO* byte_io() override { return this; }
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
  kernels::ThreadPool* pool = threads > 1 && n > 1 ? ctx.thread_pool() : nullptr;
  if (!pool) {
    fn(int64_t{0}, n, 0);
    return;
  }
  pool->run(n, fn);
}

// Below this much work, waking a thread costs more than it saves.
inline std::atomic<double> min_parallel_work{1 << 17};

// How many threads a step of `work` elementary operations uses.
inline int threads_for(const ExecContext& ctx, double work) {
  const int t = ctx.threads();
  if (t <= 1 || work < min_parallel_work.load()) return 1;
  return t;
}

// The rounding of a pointwise step's chain (x * w[c] + bias[c] for c <
// channels) on int8 data: the sums are at most 128 * max |w| in magnitude.
inline void set_pointwise_rounding(kernels::Chain& chain, const int32_t* w, const int32_t* bias,
                                   int64_t channels) {
  int64_t most = 0;
  for (int64_t c = 0; c < channels; ++c) most = std::max<int64_t>(most, std::abs(int64_t{w[c]}));
  kernels::set_rounding(chain, 128 * most, bias, channels);
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

}  // namespace planning
}  // namespace cvm
