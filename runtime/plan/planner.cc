// The planner: the passes that turn a verified graph into a Plan, in order:
//  1. match (match.cc): nodes to steps, fast kernels and fused groups;
//  2. elide writes (timeline.cc): the intermediate entries of fused groups
//     that no read can observe are left unwritten;
//  3. byte activations (byte_activations.cc): entries stored as int8 values.
// Each pass hands its result to the next explicitly. The steps themselves
// are in steps/, one file per kind.
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
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "runtime/plan.h"
#include "runtime/plan/byte_activations.h"
#include "runtime/plan/match.h"
#include "runtime/plan/step_support.h"
#include "runtime/plan/timeline.h"

namespace cvm {

double set_min_parallel_work(double work) {
  return planning::min_parallel_work.exchange(work);
}

std::unique_ptr<Plan> make_plan(const Graph& graph, const kernels::Table* table,
                                const ParamStore& params) {
  using namespace planning;
  auto plan = std::make_unique<Plan>();
  // 1. Match.
  MatchResult matched = match_steps(graph, table, params);
  std::vector<std::unique_ptr<Step>>& steps = matched.steps;

  // 2. Elide writes: each write left out is a stage's (or the source's own)
  // write of a fused step.
  Timeline timeline(graph, matched.accesses);
  const std::vector<const Access*> skipped = timeline.skip_writes();
  for (const Access* a : skipped) steps[a->step]->fused()->leave_out(a->stage);
  plan->summary.skipped_writes = static_cast<int>(skipped.size());

  // 3. Byte activations, on the same timeline.
  if (table) {
    plan->summary.byte_entries = decide_byte_activations(graph, steps, matched.accesses,
                                                         timeline, &plan->input_bytes);
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
  // Pre-packed weights that nothing else reads.
  for (const auto& kv : matched.packed) {
    const int64_t w = kv.first;
    bool private_copy = true;
    for (const EntryRef& e : graph.heads) private_copy = private_copy && graph.entry_id(e) != w;
    for (uint32_t nid = 0; nid < graph.nodes.size() && private_copy; ++nid) {
      const GraphNode& node = graph.nodes[nid];
      for (size_t k = 0; k < node.inputs.size(); ++k) {
        if (graph.entry_id(node.inputs[k]) == w && !(k == 1 && kv.second.count(nid))) {
          private_copy = false;
        }
      }
    }
    if (private_copy) plan->unused_pools.push_back(static_cast<int>(graph.pool[w]));
  }
  return plan;
}

}  // namespace cvm
