#include "ops/op.h"

namespace cvm {

namespace {

class KernelLessAlias : public Operator {
 public:
  KernelLessAlias(std::unique_ptr<Operator> op, std::string name)
      : op_(std::move(op)), name_(std::move(name)) {}
  uint32_t num_inputs(uint32_t given) const override { return op_->num_inputs(given); }
  uint32_t num_outputs() const override { return op_->num_outputs(); }
  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    op_->infer_shape(in, out);
  }
  void infer_precision(const std::vector<Shape>& shapes, std::vector<int>& in,
                       std::vector<int>& out) const override {
    op_->infer_precision(shapes, in, out);
  }
  int64_t gas_per_output(const std::vector<Shape>& in,
                         const std::vector<Shape>& out) const override {
    return op_->gas_per_output(in, out);
  }
  bool in_place_allowed() const override { return op_->in_place_allowed(); }
  bool has_kernel() const override { return false; }
  void run(const std::vector<Tensor>&, const std::vector<Tensor>&, Workspace&) const override {
    CVM_LOGIC_ERROR() << "function undefined cvm.runtime.cpu." << name_;
  }

 private:
  std::unique_ptr<Operator> op_;
  std::string name_;
};

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

void add_kernel_less_alias(OpRegistry& registry, const std::string& name,
                           const std::string& alias) {
  OperatorFactory canonical = *registry.find(name);
  registry.add(alias, [canonical, alias](const NodeAttrs& attrs) -> std::unique_ptr<Operator> {
    return std::make_unique<KernelLessAlias>(canonical(attrs), alias);
  });
}

void expect_no_attrs(const NodeAttrs& attrs) {
  CVM_VERIFY(attrs.dict.empty())
      << "operator " << attrs.op_name << " name=" << attrs.node_name
      << " should not have attributes";
}

}  // namespace cvm
