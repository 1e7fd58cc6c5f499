// Pass 3 of the planner: byte activations (see byte_activations.h).
#include "runtime/plan/byte_activations.h"

#include <algorithm>
#include <set>
#include <vector>

namespace cvm {
namespace planning {

int decide_byte_activations(const Graph& g, const std::vector<std::unique_ptr<Step>>& steps,
                            const std::vector<std::vector<Access>>& step_accesses,
                            Timeline& timeline, bool* input_bytes) {
  const Access& input = timeline.input();
  auto sid = [&](int64_t e) { return static_cast<int>(g.pool[static_cast<size_t>(e)]); };
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
    ByteIO* io = steps[s]->byte_io();
    if (!io || !io->takes_bytes()) continue;
    FusedStep* fused = steps[s]->fused();
    Role r{io, fused, io->data_eids(), kNoEntry, kNoEntry, nullptr, io->data_in_place(), -1,
           false};
    bool x_ok = true;
    if (fused) {
      const ChainPlan& cp = fused->chain_plan();
      const kernels::Chain shape = cp.shape_only();
      r.out = cp.final_eid;
      if (shape.pattern == kernels::Pattern::kResidual) {
        for (size_t k = 0; k < cp.stages.size(); ++k) {
          if (cp.stages[k].proto.op != StageOp::kBinary) continue;
          r.operand = cp.stages[k].operand_eid;
          r.operand_stage = static_cast<int>(k);
        }
      }
      r.bounded = shape.int8_values();
      // Data read in place by a chain stage by stage: never bytes.
      x_ok = !r.x_in_place || shape.pattern != kernels::Pattern::kGeneric;
    } else {
      r.out = g.entry_id(steps[s]->nodes().front(), 0);
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
  if (input.eid >= 0 && g.precision[static_cast<size_t>(input.eid)] <= 8) {
    roles.insert(roles.begin(),
                 Role{nullptr, nullptr, {}, input.eid, kNoEntry, &input, false, -1, true});
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
    const std::vector<const Access*>& pool = timeline.pool_of(r.out);
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
    if (timeline.try_changed_write(r.out_write, reads)) bytes.insert(r.out);
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
  *input_bytes = input.eid >= 0 && bytes.count(input.eid) > 0;
  for (const Role& r : roles) {
    if (!r.io) continue;  // the input
    r.io->use_bytes(bytes);
    if (r.fused) {
      r.fused->chain_plan().operand_bytes = r.operand != kNoEntry && bytes.count(r.operand) > 0;
    }
  }
  return static_cast<int>(bytes.size());
}

}  // namespace planning
}  // namespace cvm
