// Pass 3 of the planner: which entries are stored as int8 values.
#pragma once

#include <memory>
#include <vector>

#include "graph/graph.h"
#include "runtime/plan.h"
#include "runtime/plan/step_support.h"
#include "runtime/plan/timeline.h"

namespace cvm {
namespace planning {

// Byte activations. An entry whose values are provably int8 -- the
// pattern of its producing fused step bounds them, it is the output of a
// max_pool2d, concatenate or copy (transpose, strided_slice, reshape and
// the like) of such entries, or it is the input, of precision 8 or less --
// is stored as int8 values at the start of its
// pool when every read of it is by a step that takes bytes (ByteIO: its
// data, or a residual operand) and comes right after its write (no write
// to the pool in between). For every other read of the pool the byte
// write counts as a write left out: the timeline must show that no such
// read reaches the pool's changed bytes (Timeline::try_changed_write).
// Tells each ByteIO step which of its entries are bytes, sets *input_bytes
// when the input is, and returns how many entries are bytes.
int decide_byte_activations(const Graph& g, const std::vector<std::unique_ptr<Step>>& steps,
                            const std::vector<std::vector<Access>>& step_accesses,
                            Timeline& timeline, bool* input_bytes);

}  // namespace planning
}  // namespace cvm
