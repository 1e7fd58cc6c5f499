#include "runtime/plan/pointwise_table.h"

#include <map>

namespace cvm {
namespace planning {

PointwiseTable pointwise_table(
    const kernels::Table* t, const ChainPlan& chain, int64_t channels, const ParamView& w,
    const ParamView* bias,
    const std::function<bool(int64_t eid, std::vector<int32_t>* values)>& constant) {
  if (!t || !t->lookup_bytes || chain.stages.empty() || w.count < channels ||
      (bias && bias->count < channels)) {
    return nullptr;
  }
  const ChainPlan plan = chain.final_only();
  if (!plan.shape_only().int8_values()) return nullptr;
  // Operands: one value per channel (the same for every image).
  std::map<int64_t, std::vector<int32_t>> operands;
  for (const StagePlan& st : plan.stages) {
    if (st.operand_eid == kNoEntry) continue;
    if (st.proto.mode != OperandMode::kPlane || st.proto.stride_n != 0) return nullptr;
    std::vector<int32_t>& v = operands[st.operand_eid];
    if (!constant(st.operand_eid, &v)) return nullptr;
    const int64_t need = st.proto.stride_c * (channels - 1) + 1;
    if (static_cast<int64_t>(v.size()) < need) return nullptr;
  }
  std::vector<int32_t> in(256), out(256);
  kernels::Chain c = plan.bind_to([&](int64_t eid) -> int32_t* {
    auto it = operands.find(eid);
    return it != operands.end() ? it->second.data() : out.data();
  });
  auto table = std::make_shared<std::vector<int8_t>>(static_cast<size_t>(channels * 256));
  for (int64_t ch = 0; ch < channels; ++ch) {
    const uint32_t tap = static_cast<uint32_t>(w[ch]);
    const uint32_t add = bias ? static_cast<uint32_t>((*bias)[ch]) : 0u;
    for (int b = 0; b < 256; ++b) {
      const int32_t v = static_cast<int8_t>(static_cast<uint8_t>(b));
      in[static_cast<size_t>(b)] = static_cast<int32_t>(static_cast<uint32_t>(v) * tap + add);
    }
    t->chain(c, in.data(), 256, 0, 0, ch, 0);
    for (int b = 0; b < 256; ++b) {
      const int32_t y = out[static_cast<size_t>(b)];
      if (y < -128 || y > 127) return nullptr;
      (*table)[static_cast<size_t>(ch * 256 + b)] = static_cast<int8_t>(y);
    }
  }
  return table;
}

}  // namespace planning
}  // namespace cvm
