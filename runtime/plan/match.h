// Pass 1 of the planner: the graph's nodes matched to steps (fast kernels and
// fused groups where the shapes allow, plain steps elsewhere).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "graph/graph.h"
#include "kernels/kernel_table.h"
#include "runtime/plan.h"
#include "runtime/plan/timeline.h"

namespace cvm {
namespace planning {

struct MatchResult {
  std::vector<std::unique_ptr<Step>> steps;   // in execution order
  std::vector<std::vector<Access>> accesses;  // per step, its storage accesses
  // Weight entries read from a pre-packed copy -> the nodes that do so.
  std::map<int64_t, std::set<uint32_t>> packed;
};

// `table` null: every node a plain step.
MatchResult match_steps(const Graph& graph, const kernels::Table* table,
                        const ParamStore& params);

}  // namespace planning
}  // namespace cvm
