// upsampling: nearest-neighbour enlargement of the H and W axes of NCHW data
// by an integer scale.
#include <algorithm>
#include <optional>

#include "ops/nn/nn_util.h"

namespace cvm {
namespace nn {
namespace {

class UpSampling : public Operator {
 public:
  bool writes_whole_output() const override { return true; }
  explicit UpSampling(const NodeAttrs& attrs) {
    AttrReader reader(attrs.op_name, attrs.dict);
    scale_ = reader.integer("scale");
    layout_ = reader.string("layout", "NCHW");
    method_ = reader.string("method", "NEAREST_NEIGHBOR");
    reader.finish();
  }

  uint32_t num_inputs(uint32_t) const override { return 1; }

  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    const Shape& d = in[0];
    CVM_VERIFY(d.size() == 4) << "dimension should be 4D, Got: " << shape_string(d);
    CVM_VERIFY(method_ == "NEAREST_NEIGHBOR") << "only accept method = NEAREST_NEIGHBOR";
    verify_attr_range(scale_, "UpSampling.scale", 1);
    CVM_VERIFY(layout_ == "NCHW") << "UpSampling only supported NCHW layout vs. " << layout_;
    out[0] = {d[0], d[1], d[2] * scale_, d[3] * scale_};
  }

  void infer_precision(const std::vector<Shape>&, std::vector<int>& in,
                       std::vector<int>& out) const override {
    verify_input_precisions(in, "upsampling");
    out[0] = in[0];
  }

  KernelInfo kernel_info() const override {
    KernelInfo k;
    k.kind = KernelInfo::Kind::kUpsampling;
    k.scale = scale_;
    return k;
  }

  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    const Shape& xs = in[0].shape;
    const int64_t planes = xs[0] * xs[1];
    const int64_t h = xs[2], w = xs[3];
    const int64_t oh = h * scale_, ow = w * scale_;
    for (int64_t p = 0; p < planes; ++p) {
      const int32_t* x = in[0].data + p * h * w;
      int32_t* y = out[0].data + p * oh * ow;
      for (int64_t r = 0; r < h; ++r) {
        // Widen one input row, then repeat it `scale` times.
        int32_t* first = y + r * scale_ * ow;
        for (int64_t c = 0; c < w; ++c) {
          std::fill_n(first + c * scale_, scale_, x[r * w + c]);
        }
        for (int64_t k = 1; k < scale_; ++k) std::copy_n(first, ow, first + k * ow);
      }
    }
  }

 private:
  int scale_ = 1;
  std::string layout_;
  std::string method_;
};

}  // namespace

void register_upsampling(OpRegistry& registry) {
  registry.add("upsampling", [](const NodeAttrs& attrs) -> std::unique_ptr<Operator> {
    return std::make_unique<UpSampling>(attrs);
  });
}

}  // namespace nn
}  // namespace cvm
