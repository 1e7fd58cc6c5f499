// max_pool2d over NCHW data. Positions outside the input (padding) count as
// INT32_MIN, as in the reference's CPU kernel.
#include <algorithm>
#include <limits>

#include "ops/nn/nn_util.h"

namespace cvm {
namespace nn {
namespace {

class MaxPool2D : public Operator {
 public:
  bool writes_whole_output() const override { return true; }
  explicit MaxPool2D(const NodeAttrs& attrs) {
    AttrReader reader(attrs.op_name, attrs.dict);
    pool_size_ = reader.shape("pool_size");
    strides_ = reader.shape("strides", {1, 1});
    padding_ = reader.shape("padding", {0, 0});
    layout_ = reader.string("layout", "NCHW");
    ceil_mode_ = reader.boolean("ceil_mode", false);
    reader.finish();
  }

  uint32_t num_inputs(uint32_t) const override { return 1; }

  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    const Shape& d = in[0];
    CVM_VERIFY(d.size() == 4) << "Pool2D only support input = 4-D: NCHW";
    CVM_VERIFY(layout_ == "NCHW") << "Pool2D only supported NCHW layout vs. " << layout_;
    CVM_VERIFY(padding_.size() == 1 || padding_.size() == 2)
        << "Pool2D only supported 1-D or 2-D padding";
    verify_attr_range(padding_[0], "MaxPool2D.padding[0]");
    if (padding_.size() == 2) verify_attr_range(padding_[1], "MaxPool2D.padding[1]");
    const int64_t pad_top = padding_[0];
    const int64_t pad_left = padding_.size() == 2 ? padding_[1] : padding_[0];
    const int64_t pad_h = pad_top * 2, pad_w = pad_left * 2;

    CVM_VERIFY(pool_size_.size() == 2) << "pool_size must have 2 dims";
    CVM_VERIFY(strides_.size() == 2) << "strides must have 2 dims";
    verify_attr_range(strides_[0], "MaxPool2D.strides[0]", 1);
    verify_attr_range(strides_[1], "MaxPool2D.strides[1]", 1);
    verify_attr_range(pool_size_[0], "MaxPool2D.pool_size[0]", 0,
                      static_cast<int32_t>(d[2] + pad_h));
    verify_attr_range(pool_size_[1], "MaxPool2D.pool_size[1]", 0,
                      static_cast<int32_t>(d[3] + pad_w));
    CVM_VERIFY(pad_top < pool_size_[0]) << "padding must be smaller than pool_size";
    CVM_VERIFY(pad_left < pool_size_[1]) << "padding must be smaller than pool_size";

    // All terms below are small (dims <= 2^24, attributes <= 4096 checked).
    Shape o = d;
    if (!ceil_mode_) {
      o[2] = (d[2] + pad_h - pool_size_[0]) / strides_[0] + 1;
      o[3] = (d[3] + pad_w - pool_size_[1]) / strides_[1] + 1;
    } else {
      o[2] = (d[2] + pad_h - pool_size_[0] + strides_[0] - 1) / strides_[0] + 1;
      // The last window must start inside the input.
      CVM_VERIFY((o[2] - 1) * strides_[0] - pad_top < d[2]) << "ceil_mode window out of input";
      o[3] = (d[3] + pad_w - pool_size_[1] + strides_[1] - 1) / strides_[1] + 1;
      CVM_VERIFY((o[3] - 1) * strides_[1] - pad_left < d[3]) << "ceil_mode window out of input";
    }
    out[0] = o;
  }

  void infer_precision(const std::vector<Shape>&, std::vector<int>& in,
                       std::vector<int>& out) const override {
    verify_input_precisions(in, "max_pool2d");
    out[0] = in[0];
  }

  int64_t gas_per_output(const std::vector<Shape>&,
                         const std::vector<Shape>&) const override {
    return pool_size_[0] * pool_size_[1];
  }

  KernelInfo kernel_info() const override {
    KernelInfo k;
    k.kind = KernelInfo::Kind::kMaxPool2d;
    k.pool_size[0] = pool_size_[0];
    k.pool_size[1] = pool_size_[1];
    k.strides[0] = strides_[0];
    k.strides[1] = strides_[1];
    k.padding[0] = padding_[0];
    k.padding[1] = padding_.size() == 2 ? padding_[1] : padding_[0];
    return k;
  }

  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    const Shape& xs = in[0].shape;
    const Shape& ys = out[0].shape;
    const int64_t planes = xs[0] * xs[1];
    const int64_t h = xs[2], w = xs[3], oh = ys[2], ow = ys[3];
    const int64_t ph = pool_size_[0], pw = pool_size_[1];
    const int64_t sh = strides_[0], sw = strides_[1];
    const int64_t pad_top = padding_[0];
    const int64_t pad_left = padding_.size() == 2 ? padding_[1] : padding_[0];
    constexpr int32_t kPad = std::numeric_limits<int32_t>::min();

    for (int64_t p = 0; p < planes; ++p) {
      const int32_t* x = in[0].data + p * h * w;
      int32_t* y = out[0].data + p * oh * ow;
      for (int64_t r = 0; r < oh; ++r) {
        const int64_t top = r * sh - pad_top;
        const int64_t r0 = std::max<int64_t>(top, 0);
        const int64_t r1 = std::min(top + ph, h);
        for (int64_t c = 0; c < ow; ++c) {
          const int64_t left = c * sw - pad_left;
          const int64_t c0 = std::max<int64_t>(left, 0);
          const int64_t c1 = std::min(left + pw, w);
          // A window that reaches outside the input sees the pad value.
          int32_t best = kPad;
          for (int64_t i = r0; i < r1; ++i) {
            const int32_t* row = x + i * w;
            for (int64_t j = c0; j < c1; ++j) best = std::max(best, row[j]);
          }
          y[r * ow + c] = best;
        }
      }
    }
  }

 private:
  Shape pool_size_, strides_, padding_;
  std::string layout_;
  bool ceil_mode_ = false;
};

}  // namespace

void register_max_pool2d(OpRegistry& registry) {
  registry.add("max_pool2d", [](const NodeAttrs& attrs) -> std::unique_ptr<Operator> {
    return std::make_unique<MaxPool2D>(attrs);
  });
}

}  // namespace nn
}  // namespace cvm
