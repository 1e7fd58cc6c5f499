// What the operator families share when they register their operators:
// kernel-less aliases and the no-attributes check (declared in ops/op.h).
#include <memory>
#include <string>
#include <utility>
#include <vector>

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

}  // namespace

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
