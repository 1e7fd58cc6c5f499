// A node through its scalar kernel (the operator's run()).
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "base/memory.h"
#include "runtime/plan/step_support.h"
#include "runtime/plan/steps.h"

namespace cvm {
namespace planning {
namespace {

class PlainStep : public NodeStep {
 public:
  PlainStep(const GraphNode& node, uint32_t nid) : NodeStep(nid), node_(node) {}
  void run(ExecContext& ctx) const override {
    node_.op->run((*ctx.node_inputs)[nid_], (*ctx.node_outputs)[nid_], *ctx.workspace);
  }
  const char* kind() const override { return "plain"; }

 private:
  const GraphNode& node_;
};

}  // namespace

std::unique_ptr<Step> make_plain_step(const GraphNode& node, uint32_t nid) {
  return std::make_unique<PlainStep>(node, nid);
}

}  // namespace planning
}  // namespace cvm
