// conv2d: NCHW data, OIHW weight, optional bias, with strides, zero padding,
// dilation and groups.
//
// What the reference's CPU kernel computes (the bits to match):
//  - it takes the filter geometry from the weight's declared shape
//    (O, I, FH, FW), not from the attributes; the shape rule never checks the
//    weight shape, so both are honoured here the same way;
//  - groups == 1: data and weight values are cast to int8 before the
//    multiplications (an im2col + int8 matrix product), and the weight is read
//    as a flat (O, C*FH*FW) matrix, C being the data's channel count;
//  - groups > 1: plain int32 products; output channel oc reads the input
//    channels (oc / (O/groups)) * (C/groups) + [0, C/groups) and weight row oc
//    with a stride of I*FH*FW;
//  - sums, and the final bias addition, wrap in int32.
// Weight shapes for which that kernel would read or write out of bounds, or
// leave part of the output unwritten, are rejected at load with code 1.
#include <algorithm>
#include <limits>
#include <optional>

#include "ops/nn/nn_util.h"

namespace cvm {
namespace nn {
namespace {

constexpr int kInt32Type = 4;  // the reference's type code of int32

// The kernel's view of one convolution, derived from the data and weight
// shapes and the attributes.
struct ConvGeometry {
  int64_t batch = 0, channels = 0, height = 0, width = 0;  // data
  int64_t filters = 0, filter_c = 0, filter_h = 0, filter_w = 0;  // weight
  int64_t out_h = 0, out_w = 0;
  int64_t groups = 1;
  int64_t filters_per_group = 0, channels_per_group = 0;
  int64_t weight_row = 0;  // distance between two filters in the weight
  bool int8_operands = false;
};

class Conv2D : public Operator {
 public:
  bool writes_whole_output() const override { return true; }
  explicit Conv2D(const NodeAttrs& attrs) : name_(attrs.node_name) {
    AttrReader reader(attrs.op_name, attrs.dict);
    channels_ = reader.integer("channels");
    kernel_size_ = reader.shape("kernel_size");
    strides_ = reader.shape("strides", {1, 1});
    padding_ = reader.shape("padding", {0, 0});
    dilation_ = reader.shape("dilation", {1, 1});
    groups_ = reader.integer("groups", 1);
    layout_ = reader.string("layout", "NCHW");
    kernel_layout_ = reader.string("kernel_layout", "OIHW");
    out_layout_ = reader.string("out_layout", "__undef__");
    out_dtype_ = reader.enumeration("out_dtype",
                                    {{"same", -1},
                                     {"float32", 0},
                                     {"float64", 1},
                                     {"float16", 2},
                                     {"uint8", 3},
                                     {"int32", 4},
                                     {"int8", 5},
                                     {"int64", 6},
                                     {"int16", 7},
                                     {"uint16", 8},
                                     {"uint32", 9},
                                     {"uint64", 10}},
                                    -1);
    use_bias_ = reader.boolean("use_bias", true);
    reader.finish();
  }

  uint32_t num_inputs(uint32_t) const override { return use_bias_ ? 3 : 2; }

  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    CVM_VERIFY(layout_ == "NCHW") << "Conv2D only supported layout: NCHW vs. " << layout_;
    CVM_VERIFY(kernel_layout_ == "OIHW")
        << "Conv2D only supported kernel layout: OIHW vs. " << kernel_layout_;
    check_layout_syntax(out_layout_);
    CVM_VERIFY(out_layout_ == "__undef__" || out_layout_ == "NCHW")
        << "Conv2D only supported out layout NCHW vs. " << out_layout_;

    const Shape& d = in[0];
    CVM_VERIFY(d.size() == 4) << "Input data should be 4D";
    CVM_VERIFY(kernel_size_.size() == 2) << "incorrect kernel size";
    CVM_VERIFY(padding_.size() == 2) << "incorrect padding size";
    verify_attr_range(padding_[0], "Conv2D.padding[0]");
    verify_attr_range(padding_[1], "Conv2D.padding[1]");
    CVM_VERIFY(strides_.size() == 2) << "incorrect stride size";
    verify_attr_range(strides_[0], "Conv2D.strides[0]", 1);
    verify_attr_range(strides_[1], "Conv2D.strides[1]", 1);
    CVM_VERIFY(dilation_.size() == 2) << "incorrect dilate size";
    verify_attr_range(dilation_[0], "Conv2D.dilation[0]", 1);
    verify_attr_range(dilation_[1], "Conv2D.dilation[1]", 1);
    CVM_VERIFY(groups_ > 0 && d[1] % groups_ == 0 && channels_ % groups_ == 0)
        << "Conv2D groups " << groups_ << " must divide the input channels " << d[1]
        << " and the output channels " << channels_;

    // The declared weight shape is taken as it is (the reference infers one
    // only for a weight without a shape).
    if (use_bias_) assign_input_shape(in[2], {channels_}, "conv2d", "bias");

    // kernel_size is any int64 here: wrap like the reference's arithmetic.
    const int64_t span_h = dilated(kernel_size_[0], dilation_[0]);
    const int64_t span_w = dilated(kernel_size_[1], dilation_[1]);
    const int64_t room_h = d[2] + 2 * padding_[0];
    const int64_t room_w = d[3] + 2 * padding_[1];
    out[0] = {d[0], channels_, wrap_sub(room_h, span_h) / strides_[0] + 1,
              wrap_sub(room_w, span_w) / strides_[1] + 1};
    // (Back-inferring the data shape from this output always gives it back.)
    CVM_VERIFY(span_h <= room_h) << "kernel size exceed input";
    CVM_VERIFY(span_w <= room_w) << "kernel size exceed input";
  }

  void infer_precision(const std::vector<Shape>& shapes, std::vector<int>& in,
                       std::vector<int>& out) const override {
    // The reference's type rule: an explicit out_dtype must be int32.
    CVM_VERIFY(out_dtype_ == -1 || out_dtype_ == kInt32Type)
        << "Conv2D " << name_ << " output type must be int32";
    verify_input_precisions(in, "conv2d");
    CVM_VERIFY(in[0] <= 8) << "Conv2D " << name_ << " input must be INT8 vs. INT" << in[0];
    CVM_VERIFY(in[1] <= 8) << "Conv2D " << name_ << " weight must be INT8 vs. INT" << in[1];
    const Shape& w = shapes[1];
    CVM_VERIFY(w.size() == 4) << "Conv2D " << name_ << " weight must be 4-D";
    int prec = in[0] + in[1] + reduce_sum_bits(shape_size(w) / w[0]);
    if (use_bias_) prec = std::max(prec, in[2]) + 1;

    verify_kernel_bounds(shapes);
    out[0] = prec;
  }

  int64_t gas_per_output(const std::vector<Shape>& in,
                         const std::vector<Shape>&) const override {
    const Shape& w = in[1];
    return shape_size(w) / w[0] * 3 + (use_bias_ ? 1 : 0);
  }

  KernelInfo kernel_info() const override {
    KernelInfo k;
    k.kind = KernelInfo::Kind::kConv2d;
    for (int i = 0; i < 2; ++i) {
      k.strides[i] = strides_[i];
      k.padding[i] = padding_[i];
      k.dilation[i] = dilation_[i];
    }
    k.groups = groups_;
    k.use_bias = use_bias_;
    return k;
  }

  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace& workspace) const override;

 private:
  static int64_t dilated(int64_t size, int64_t dilation) {
    return static_cast<int64_t>(
        1u + (static_cast<uint64_t>(size) - 1u) * static_cast<uint64_t>(dilation));
  }
  static int64_t wrap_sub(int64_t a, int64_t b) {
    return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
  }

  ConvGeometry geometry(const Shape& x, const Shape& w) const;
  void verify_kernel_bounds(const std::vector<Shape>& shapes) const;

  std::string name_;
  int channels_ = 0;
  Shape kernel_size_, strides_, padding_, dilation_;
  int groups_ = 1;
  std::string layout_, kernel_layout_, out_layout_;
  int out_dtype_ = -1;
  bool use_bias_ = true;
};

ConvGeometry Conv2D::geometry(const Shape& x, const Shape& w) const {
  ConvGeometry g;
  g.batch = x[0];
  g.channels = x[1];
  g.height = x[2];
  g.width = x[3];
  g.filters = w[0];
  g.filter_c = w[1];
  g.filter_h = w[2];
  g.filter_w = w[3];
  // Dims <= 2^24 and attributes <= 4096: no int64 overflow below.
  const int64_t span_h = (g.filter_h - 1) * dilation_[0] + 1;
  const int64_t span_w = (g.filter_w - 1) * dilation_[1] + 1;
  g.out_h = (g.height + 2 * padding_[0] - span_h) / strides_[0] + 1;
  g.out_w = (g.width + 2 * padding_[1] - span_w) / strides_[1] + 1;
  g.groups = groups_;
  g.filters_per_group = g.filters / groups_;
  g.channels_per_group = g.channels / groups_;
  g.int8_operands = groups_ == 1;
  g.weight_row = (groups_ == 1 ? g.channels : g.filter_c) * g.filter_h * g.filter_w;
  return g;
}

void Conv2D::verify_kernel_bounds(const std::vector<Shape>& shapes) const {
  const Shape& x = shapes[0];
  const Shape& w = shapes[1];
  const Shape& y = shapes[use_bias_ ? 3 : 2];
  const ConvGeometry g = geometry(x, w);
  constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
  const char* why = "the weight shape does not fit the convolution";
  // The reference computes the dilated filter extent in int.
  CVM_VERIFY((g.filter_h - 1) * dilation_[0] + 1 <= kIntMax &&
             (g.filter_w - 1) * dilation_[1] + 1 <= kIntMax)
      << "Conv2D " << name_ << ": " << why;
  CVM_VERIFY(g.out_h >= 1 && g.out_w >= 1) << "Conv2D " << name_ << ": " << why;
  if (g.groups == 1) {
    // Weight read as (O, C*FH*FW); the im2col buffer size is an int.
    CVM_VERIFY(g.channels <= g.filter_c) << "Conv2D " << name_ << ": " << why;
    CVM_VERIFY(g.channels * g.filter_h * g.filter_w * g.out_h * g.out_w <= kIntMax)
        << "Conv2D " << name_ << ": convolution too large for the reference kernel";
  } else {
    CVM_VERIFY(g.filters_per_group >= 1) << "Conv2D " << name_ << ": " << why;
    CVM_VERIFY(g.channels_per_group <= g.filter_c) << "Conv2D " << name_ << ": " << why;
    CVM_VERIFY(((g.filters - 1) / g.filters_per_group + 1) * g.channels_per_group <=
               g.channels)
        << "Conv2D " << name_ << ": " << why;
  }
  // Every output element written exactly once; bias read in bounds.
  CVM_VERIFY(g.filters * g.out_h * g.out_w == y[1] * y[2] * y[3])
      << "Conv2D " << name_ << ": " << why;
  if (use_bias_) {
    CVM_VERIFY(g.filters <= shapes[2][0]) << "Conv2D " << name_ << ": " << why;
  }
}

// The kernel: per batch and group, an im2col of a tile of output pixels
// (rows: input channel of the group x filter tap; columns: pixels), then
// each output channel's row of weights times that matrix, accumulated in
// uint32 so that the sums wrap like the reference's int32.
void Conv2D::run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
                 Workspace& workspace) const {
  const ConvGeometry g = geometry(in[0].shape, in[1].shape);
  const int32_t* x = in[0].data;
  const int32_t* w = in[1].data;
  const int32_t* bias = use_bias_ ? in[2].data : nullptr;
  int32_t* y = out[0].data;

  const int64_t taps = g.filter_h * g.filter_w;
  const int64_t depth = g.channels_per_group * taps;  // rows of the im2col
  const int64_t pixels = g.out_h * g.out_w;
  const int64_t plane = g.height * g.width;
  const int64_t sh = strides_[0], sw = strides_[1];
  const int64_t ph = padding_[0], pw = padding_[1];
  const int64_t dh = dilation_[0], dw = dilation_[1];

  // Pixels per tile: keep the im2col tile around 1 MiB.
  constexpr int64_t kTileBudget = int64_t(1) << 18;
  const int64_t tile = std::min(pixels, std::max<int64_t>(16, kTileBudget / depth));
  // Scratch: the im2col tile, the accumulators, and for groups == 1 the
  // weights cast to int8.
  const int64_t weight_copy = g.int8_operands ? g.filters * depth : 0;
  int32_t* scratch = workspace.get(depth * tile + 4 * tile + weight_copy);
  int32_t* col = scratch;
  uint32_t* acc = reinterpret_cast<uint32_t*>(scratch + depth * tile);
  const int32_t* weights = w;
  if (g.int8_operands) {
    int32_t* cast = scratch + depth * tile + 4 * tile;
    for (int64_t i = 0; i < weight_copy; ++i) cast[i] = static_cast<int8_t>(w[i]);
    weights = cast;
  }

  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t grp = 0; grp * g.filters_per_group < g.filters; ++grp) {
      const int64_t oc_begin = grp * g.filters_per_group;
      const int64_t oc_end = std::min(g.filters, oc_begin + g.filters_per_group);
      const int32_t* xg = x + (n * g.channels + grp * g.channels_per_group) * plane;

      for (int64_t p0 = 0; p0 < pixels; p0 += tile) {
        const int64_t count = std::min(tile, pixels - p0);

        // im2col of pixels [p0, p0 + count): row (c, fh, fw), zero where the
        // tap falls in the padding.
        for (int64_t c = 0; c < g.channels_per_group; ++c) {
          const int32_t* xc = xg + c * plane;
          for (int64_t fh = 0; fh < g.filter_h; ++fh) {
            for (int64_t fw = 0; fw < g.filter_w; ++fw) {
              int32_t* dst = col + ((c * g.filter_h + fh) * g.filter_w + fw) * tile;
              int64_t r = p0 / g.out_w, q = p0 % g.out_w;
              for (int64_t j = 0; j < count;) {
                const int64_t run = std::min(count - j, g.out_w - q);
                const int64_t ih = r * sh - ph + fh * dh;
                if (ih < 0 || ih >= g.height) {
                  std::fill_n(dst + j, run, 0);
                } else {
                  const int32_t* src = xc + ih * g.width;
                  int64_t iw = q * sw - pw + fw * dw;
                  for (int64_t k = 0; k < run; ++k, iw += sw) {
                    int32_t v = (iw >= 0 && iw < g.width) ? src[iw] : 0;
                    dst[j + k] = g.int8_operands ? static_cast<int8_t>(v) : v;
                  }
                }
                j += run;
                q = 0;
                ++r;
              }
            }
          }
        }

        // Four output channels at a time share each im2col row.
        int64_t oc = oc_begin;
        for (; oc + 4 <= oc_end; oc += 4) {
          std::fill_n(acc, 4 * count, 0u);
          uint32_t* a0 = acc;
          uint32_t* a1 = acc + count;
          uint32_t* a2 = acc + 2 * count;
          uint32_t* a3 = acc + 3 * count;
          const int32_t* w0 = weights + oc * g.weight_row;
          const int32_t* w1 = w0 + g.weight_row;
          const int32_t* w2 = w1 + g.weight_row;
          const int32_t* w3 = w2 + g.weight_row;
          for (int64_t k = 0; k < depth; ++k) {
            const uint32_t v0 = static_cast<uint32_t>(w0[k]);
            const uint32_t v1 = static_cast<uint32_t>(w1[k]);
            const uint32_t v2 = static_cast<uint32_t>(w2[k]);
            const uint32_t v3 = static_cast<uint32_t>(w3[k]);
            const int32_t* b = col + k * tile;
            for (int64_t j = 0; j < count; ++j) {
              const uint32_t bv = static_cast<uint32_t>(b[j]);
              a0[j] += v0 * bv;
              a1[j] += v1 * bv;
              a2[j] += v2 * bv;
              a3[j] += v3 * bv;
            }
          }
          for (int64_t i = 0; i < 4; ++i) {
            const uint32_t bv = bias ? static_cast<uint32_t>(bias[oc + i]) : 0u;
            int32_t* dst = y + (n * g.filters + oc + i) * pixels + p0;
            const uint32_t* src = acc + i * count;
            for (int64_t j = 0; j < count; ++j) dst[j] = static_cast<int32_t>(src[j] + bv);
          }
        }
        for (; oc < oc_end; ++oc) {
          std::fill_n(acc, count, 0u);
          const int32_t* wr = weights + oc * g.weight_row;
          for (int64_t k = 0; k < depth; ++k) {
            const uint32_t v = static_cast<uint32_t>(wr[k]);
            const int32_t* b = col + k * tile;
            for (int64_t j = 0; j < count; ++j) acc[j] += v * static_cast<uint32_t>(b[j]);
          }
          const uint32_t bv = bias ? static_cast<uint32_t>(bias[oc]) : 0u;
          int32_t* dst = y + (n * g.filters + oc) * pixels + p0;
          for (int64_t j = 0; j < count; ++j) dst[j] = static_cast<int32_t>(acc[j] + bv);
        }
      }
    }
  }
}

}  // namespace

void register_conv2d(OpRegistry& registry) {
  registry.add("conv2d", [](const NodeAttrs& attrs) -> std::unique_ptr<Operator> {
    return std::make_unique<Conv2D>(attrs);
  });
}

}  // namespace nn
}  // namespace cvm
