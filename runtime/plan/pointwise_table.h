// The values of a pointwise depthwise step (a 1 x 1 depthwise convolution,
// x * w[c] + bias[c], then its chain) for every int8 input value, channel by
// channel, computed at plan time: on int8 data the step is then one byte
// lookup a value (Table::lookup_bytes), alone or as the prologue of the
// convolution after it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "kernels/kernel_table.h"
#include "runtime/param_store.h"
#include "runtime/plan/step_support.h"

namespace cvm {
namespace planning {

// [channel][256]: the chain's final value for the input whose int8 bits
// are the index. `chain` is the step's chain as matched; `constant` gives
// the values of a constant entry (false: not constant). Null when a value
// could fall outside int8 (the chain's pattern does not bound it), when a
// stage's operand is not one constant value per channel, or without
// Table::lookup_bytes.
using PointwiseTable = std::shared_ptr<const std::vector<int8_t>>;
PointwiseTable pointwise_table(
    const kernels::Table* t, const ChainPlan& chain, int64_t channels, const ParamView& w,
    const ParamView* bias,
    const std::function<bool(int64_t eid, std::vector<int32_t>* values)>& constant);

}  // namespace planning
}  // namespace cvm
