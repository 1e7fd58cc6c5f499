// The executor's plan: the nodes of a graph as a list of steps, built once
// at load. A step runs one node through its scalar kernel, or runs a fast
// kernel for a node together with the element-wise nodes that follow it (a
// fused group), writing the intermediate entries of the group unless an
// analysis of the storage plan proves nothing reads them (runtime/plan/:
// planner.cc runs the passes, timeline.h is the analysis).
// Whatever the plan, every read sees the bytes the plain node-by-node
// executor would give it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "kernels/kernel_table.h"
#include "kernels/thread_pool.h"
#include "ops/op.h"
#include "runtime/param_store.h"

namespace cvm {

namespace planning {
class FusedStep;
class ByteIO;
}  // namespace planning

// What a step may use while it runs.
struct ExecContext {
  std::vector<Tensor>* entries = nullptr;
  std::vector<std::vector<Tensor>>* node_inputs = nullptr;
  std::vector<std::vector<Tensor>>* node_outputs = nullptr;
  Workspace* workspace = nullptr;
  int max_threads = 1;
  // The model's thread pool, created on first need with max_threads threads.
  std::unique_ptr<kernels::ThreadPool>* thread_pool_slot = nullptr;
  uint32_t* shared = nullptr;      // Step::shared_words() words
  std::vector<uint32_t*> scratch;  // per thread, Step::thread_words() words each

  int threads() const { return max_threads; }
  kernels::ThreadPool* thread_pool() const {
    if (max_threads <= 1 || !thread_pool_slot) return nullptr;
    if (!*thread_pool_slot || (*thread_pool_slot)->size() != max_threads) {
      thread_pool_slot->reset(new kernels::ThreadPool(max_threads));
    }
    return thread_pool_slot->get();
  }
  int32_t* data(int64_t eid) const { return (*entries)[static_cast<size_t>(eid)].data; }
};

class Step {
 public:
  virtual ~Step() = default;
  virtual void run(ExecContext& ctx) const = 0;
  virtual size_t shared_words() const { return 0; }
  virtual size_t thread_words() const { return 0; }
  // "plain", "conv_gemm", "depthwise", "dense", "max_pool", "chain".
  virtual const char* kind() const = 0;
  // Nodes the step computes, in order.
  virtual std::vector<uint32_t> nodes() const = 0;
  // Whether each of them stores its output (fused groups may leave
  // intermediate entries unwritten).
  virtual std::vector<bool> stored() const { return std::vector<bool>(nodes().size(), true); }
  // The planner's views of the step (runtime/plan/step_support.h), null where
  // it has none: the chain whose writes may be dropped, the byte activations.
  virtual planning::FusedStep* fused() { return nullptr; }
  virtual planning::ByteIO* byte_io() { return nullptr; }
};

struct PlanSummary {
  int steps = 0;
  int fast_steps = 0;
  int fused_nodes = 0;      // element-wise nodes run inside another step
  int skipped_writes = 0;   // intermediate entries proven unread
  int byte_entries = 0;     // entries kept as int8 values (see runtime/plan/byte_activations.h)
};

struct Plan {
  std::vector<std::unique_ptr<Step>> steps;
  PlanSummary summary;
  size_t shared_words = 0;
  size_t thread_words = 0;
  // Pools whose bytes nothing can observe: each holds one parameter that
  // only fast steps read, from their pre-packed copy. They need neither
  // memory nor the parameter's values.
  std::vector<int> unused_pools;
  // The input is stored as int8 values (its precision is at most 8 and
  // every step that reads it takes bytes; see runtime/plan/byte_activations.h).
  bool input_bytes = false;
};

// Steps with less work than this (about one elementary operation each) run
// on the calling thread alone; tests set 0 to run every step on all threads.
// Returns the previous value.
double set_min_parallel_work(double work);

// Builds the plan for `graph` with the kernels of `table` (null: every node
// through its scalar kernel).
std::unique_ptr<Plan> make_plan(const Graph& graph, const kernels::Table* table,
                                const ParamStore& params);

}  // namespace cvm
