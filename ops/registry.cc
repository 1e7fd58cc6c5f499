// The registry of every operator: it asks each family to register its
// operators (the families use only ops/op_support.cc, never this file).
#include "ops/op.h"

namespace cvm {

namespace {

// "cvm_op" names the reference's generic node operator. A graph may use it
// as an operator name: its attributes parse, but it has no shape rule, so
// loading fails with code 2 in the shape pass.
class CvmOpPlaceholder : public Operator {
 public:
  explicit CvmOpPlaceholder(const NodeAttrs& attrs) {
    AttrReader r(attrs.op_name, attrs.dict);
    r.string("func_name");
    num_inputs_ = static_cast<uint32_t>(r.integer("num_inputs", 1));
    num_outputs_ = static_cast<uint32_t>(r.integer("num_outputs", 1));
    r.integer("flatten_data", 0);
    r.finish();
  }
  uint32_t num_inputs(uint32_t) const override { return num_inputs_; }
  uint32_t num_outputs() const override { return num_outputs_; }
  void infer_shape(std::vector<Shape>&, std::vector<Shape>&) const override {
    CVM_RUNTIME_ERROR() << "operator cvm_op has not registered FInferShape";
  }
  void infer_precision(const std::vector<Shape>&, std::vector<int>&,
                       std::vector<int>&) const override {
    CVM_RUNTIME_ERROR() << "operator cvm_op has not registered FInferPrecision";
  }
  bool has_kernel() const override { return false; }
  void run(const std::vector<Tensor>&, const std::vector<Tensor>&, Workspace&) const override {
    CVM_LOGIC_ERROR() << "function undefined cvm.runtime.cpu.cvm_op";
  }

 private:
  uint32_t num_inputs_ = 1;
  uint32_t num_outputs_ = 1;
};

}  // namespace

const OpRegistry& op_registry() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    register_elemwise_ops(r);
    register_broadcast_ops(r);
    register_reduce_ops(r);
    register_nn_ops(r);
    register_transform_ops(r);
    register_vision_ops(r);
    r.add("cvm_op", [](const NodeAttrs& attrs) -> std::unique_ptr<Operator> {
      return std::make_unique<CvmOpPlaceholder>(attrs);
    });
    return r;
  }();
  return registry;
}

}  // namespace cvm
