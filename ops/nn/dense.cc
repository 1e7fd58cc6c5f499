// dense: y[m][u] = sum_k x[m][k] * w[u][k] (+ b[u]), data (M, K), weight
// (units, K), bias (units).
#include <algorithm>
#include <optional>

#include "ops/nn/nn_util.h"

namespace cvm {
namespace nn {
namespace {

class Dense : public Operator {
 public:
  bool writes_whole_output() const override { return true; }
  explicit Dense(const NodeAttrs& attrs) : name_(attrs.node_name) {
    AttrReader reader(attrs.op_name, attrs.dict);
    units_ = reader.integer_in("units", std::nullopt, 1, std::nullopt);
    use_bias_ = reader.boolean("use_bias", true);
    reader.finish();
  }

  uint32_t num_inputs(uint32_t) const override { return use_bias_ ? 3 : 2; }

  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    CVM_VERIFY(in[0].size() == 2) << "dense require 2-D data";
    CVM_VERIFY(in[1].size() == 2) << "dense require 2-D weight";
    out[0] = {in[0][0], units_};
    assign_input_shape(in[1], {units_, in[0][1]}, "dense", "weight");
    if (use_bias_) assign_input_shape(in[2], {units_}, "dense", "bias");
  }

  void infer_precision(const std::vector<Shape>& shapes, std::vector<int>& in,
                       std::vector<int>& out) const override {
    CVM_VERIFY(in[0] <= 8) << "Dense " << name_ << " input must be INT8 vs. INT" << in[0];
    CVM_VERIFY(in[1] <= 8) << "Dense " << name_ << " weight must be INT8 vs. INT" << in[1];
    int prec = in[0] + in[1] + reduce_sum_bits(shapes[0][1]);
    if (use_bias_) prec = std::max(prec, in[2]) + 1;
    out[0] = prec;
  }

  int64_t gas_per_output(const std::vector<Shape>& in,
                         const std::vector<Shape>&) const override {
    return in[1][1] * 3 + (use_bias_ ? 1 : 0);
  }

  KernelInfo kernel_info() const override {
    KernelInfo k;
    k.kind = KernelInfo::Kind::kDense;
    k.use_bias = use_bias_;
    return k;
  }

  // int32 arithmetic that wraps like the reference's (done in uint32).
  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    const int64_t rows = in[0].shape[0];
    const int64_t depth = in[0].shape[1];
    const int64_t units = out[0].shape[1];
    const int32_t* x = in[0].data;
    const int32_t* w = in[1].data;
    const int32_t* bias = use_bias_ ? in[2].data : nullptr;
    int32_t* y = out[0].data;
    for (int64_t m = 0; m < rows; ++m) {
      const int32_t* xrow = x + m * depth;
      for (int64_t u = 0; u < units; ++u) {
        const int32_t* wrow = w + u * depth;
        uint32_t sum = 0;
        for (int64_t k = 0; k < depth; ++k) {
          sum += static_cast<uint32_t>(xrow[k]) * static_cast<uint32_t>(wrow[k]);
        }
        if (bias) sum += static_cast<uint32_t>(bias[u]);
        y[m * units + u] = static_cast<int32_t>(sum);
      }
    }
  }

 private:
  std::string name_;
  int units_ = 0;
  bool use_bias_ = true;
};

}  // namespace

void register_dense(OpRegistry& registry) {
  registry.add("dense", [](const NodeAttrs& attrs) -> std::unique_ptr<Operator> {
    return std::make_unique<Dense>(attrs);
  });
}

}  // namespace nn
}  // namespace cvm
