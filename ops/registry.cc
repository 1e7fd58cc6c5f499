#include "ops/op.h"

namespace cvm {

const OpRegistry& op_registry() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    register_elemwise_ops(r);
    register_broadcast_ops(r);
    register_reduce_ops(r);
    register_nn_ops(r);
    register_transform_ops(r);
    register_vision_ops(r);
    return r;
  }();
  return registry;
}

void expect_no_attrs(const NodeAttrs& attrs) {
  CVM_VERIFY(attrs.dict.empty())
      << "operator " << attrs.op_name << " name=" << attrs.node_name
      << " should not have attributes";
}

}  // namespace cvm
