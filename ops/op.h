// The operator interface. Each graph operator is one small unit: attribute
// parsing (in its factory), shape rule, precision rule, gas weight and a plain
// scalar kernel that defines the bits. Faster kernels are chosen elsewhere and
// must produce the same bytes as run().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/attrs.h"
#include "base/error.h"
#include "base/memory.h"
#include "base/shape.h"

namespace cvm {

// The reference's attribute range check in its shape and precision rules:
// lo <= value <= hi (by default [0, 4096]), else an invalid model (code 1).
inline void verify_attr_range(int64_t value, const char* what, int64_t lo = 0,
                              int64_t hi = 4096) {
  CVM_VERIFY(lo <= value && value <= hi)
      << "attribute " << what << " value: " << value << " out of range [" << lo << ", " << hi
      << "]";
}

// One tensor as a kernel sees it: int32 values, row-major, `shape` dims.
// Input and output tensors of in-place operators may share memory.
struct Tensor {
  int32_t* data = nullptr;
  Shape shape;
  int64_t size() const { return shape_size(shape); }
};

// Scratch memory a kernel may borrow during run(); owned by the executor, one
// per model, so kernels need not allocate on every call.
class Workspace {
 public:
  // `count` is a 64-bit product of shape figures: where size_t has 32 bits
  // it is checked before it is narrowed (a runtime failure, code 2, when the
  // address space cannot hold it).
  int32_t* get(int64_t count) {
    CVM_CHECK(count >= 0 && fits_in_memory(static_cast<uint64_t>(count), sizeof(int32_t)))
        << "scratch memory of " << count << " values does not fit the address space";
    if (buffer_.size() < static_cast<size_t>(count)) buffer_.resize(static_cast<size_t>(count));
    return buffer_.data();
  }

 private:
  std::vector<int32_t> buffer_;
};

// What a node declares about its operator.
struct NodeAttrs {
  std::string op_name;    // e.g. "conv2d"
  std::string node_name;  // e.g. "conv2d_0", for messages
  AttrDict dict;          // the node's op_attrs
};

// What the executor's planner needs to run an operator with a fast kernel
// (possibly fused with its neighbours): its kind, and the fields of that
// kind. Operators that report kNone always run through run().
struct KernelInfo {
  enum class Kind {
    kNone,
    kClamp,       // y = min(max(x, clamp_lo), clamp_hi) as the operator computes it
    kRightShift,  // cvm_right_shift (precision, shift_bit)
    kBinary,      // element-wise or broadcast add, sub, mul, max (binary, broadcast)
    kConv2d,      // strides, padding, dilation, groups, use_bias
    kDense,       // use_bias
    kMaxPool2d,   // pool_size, strides, padding
    kReduce,      // sum or max (reduce_max) over axes (exclude_axes: all others)
    kConcat,      // concatenate (axis)
    kUpsampling,  // nearest-neighbour upsampling of NCHW data (scale)
    kTranspose,   // transpose (axes; transpose_axes() resolves them)
    kStridedSlice,  // strided_slice (slice_begin, slice_end, slice_stride;
                    // strided_slice_axes() resolves them)
    kCopy,        // the input's values in the same order under another shape
                  // (reshape, flatten, squeeze, expand_dims); when the output
                  // shares the input's storage, nothing to do
  };
  enum class Binary { kAdd, kSub, kMul, kMax };
  Kind kind = Kind::kNone;
  // kClamp: the bounds.
  int64_t clamp_lo = 0, clamp_hi = 0;
  // kRightShift: the attributes.
  int precision = 0, shift_bit = 0;
  // kBinary: the operation; whether the operator broadcasts its operands.
  Binary binary = Binary::kAdd;
  bool broadcast = false;
  // kConv2d and kMaxPool2d: (height, width) pairs; padding is (top, left).
  int64_t strides[2] = {1, 1}, padding[2] = {0, 0}, dilation[2] = {1, 1};
  int64_t pool_size[2] = {0, 0};
  int64_t groups = 1;
  bool use_bias = false;
  // kReduce: max (else sum) over the axes the kernel resolves: `axes` as
  // listed, or all the others when exclude_axes.
  bool reduce_max = false, exclude_axes = false;
  // kReduce and kTranspose: the axes attribute as listed.
  std::vector<int64_t> axes;
  // kStridedSlice: the begin, end and stride attributes as listed.
  std::vector<int64_t> slice_begin, slice_end, slice_stride;
  // kConcat: the axis attribute as given (may be negative).
  int64_t axis = 0;
  // kUpsampling: the scale.
  int64_t scale = 0;
};

// How transpose and strided_slice resolve their attributes for given data
// (ops/transform.cc); the planner builds its copies from the same answers.

// transpose of data of rank `ndim`: the input dim each output dim walks
// (`axes` as listed, negative ones counted from the end; none: reversed).
// Empty when `axes` lists another number of dims (the shape rule rejects
// that).
std::vector<int64_t> transpose_axes(const std::vector<int64_t>& axes, size_t ndim);

// strided_slice, one axis: the first source index, the source step per
// output index, and the number of output indices.
struct AxisSlice {
  int64_t begin;
  int64_t stride;
  int64_t size;
};
// Per axis of data of shape `d`, from begin, end and stride as listed.
// `check` applies the shape rule's verifications (throwing code 1) and
// computes the sizes; without it only begin and stride are set.
std::vector<AxisSlice> strided_slice_axes(const Shape& d, const std::vector<int64_t>& begin,
                                          const std::vector<int64_t>& end,
                                          const std::vector<int64_t>& stride, bool check);

class Operator {
 public:
  virtual ~Operator() = default;

  // How many inputs the node must have; `given` is how many it lists
  // (operators with a variable count return it).
  virtual uint32_t num_inputs(uint32_t given) const = 0;
  virtual uint32_t num_outputs() const { return 1; }

  // Shape rule. `in` holds the declared input shapes; like the reference's
  // rule it may rewrite them, and the graph then checks them against the
  // declared ones (code 1 on a difference). Fills `out`, one per output.
  // Throws cvm::Error with the reference's class when the rule fails.
  virtual void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const = 0;

  // Precision rule. `shapes` holds the declared shapes of the inputs then the
  // outputs; `in` the input precisions; `out` arrives holding the declared
  // output precisions (-1 where unset) and leaves holding the inferred ones.
  virtual void infer_precision(const std::vector<Shape>& shapes,
                               std::vector<int>& in, std::vector<int>& out) const = 0;

  // Gas: ops charged per element of output 0 (the reference's weights; 1
  // for most operators). The graph checks it against the reference's limit.
  virtual int64_t gas_per_output(const std::vector<Shape>& in,
                                 const std::vector<Shape>& out) const {
    (void)in;
    (void)out;
    return 1;
  }

  // Whether the reference lets this operator's output share storage with
  // one of its inputs (its list of in-place operators).
  virtual bool in_place_allowed() const { return false; }

  // False for names the reference accepts and checks like an operator but
  // has no kernel for (its aliases): loading such a graph fails with code 1
  // once every check has passed.
  virtual bool has_kernel() const { return true; }

  // See KernelInfo. Only attributes the shape and precision rules accepted.
  virtual KernelInfo kernel_info() const { return {}; }

  // Whether run() writes every element of its outputs. The planner's storage
  // timeline counts a write by any other operator as leaving old bytes in
  // place (runtime/plan/timeline.h).
  virtual bool writes_whole_output() const { return false; }

  // The scalar kernel that defines the bits. Shapes are the verified ones.
  virtual void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
                   Workspace& workspace) const = 0;
};

using OperatorFactory = std::function<std::unique_ptr<Operator>(const NodeAttrs&)>;

class OpRegistry {
 public:
  void add(const std::string& name, OperatorFactory factory) {
    factories_[name] = std::move(factory);
  }
  const OperatorFactory* find(const std::string& name) const {
    auto it = factories_.find(name);
    return it == factories_.end() ? nullptr : &it->second;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& kv : factories_) out.push_back(kv.first);
    return out;
  }

 private:
  std::map<std::string, OperatorFactory> factories_;
};

// All operators of the format.
const OpRegistry& op_registry();

// Each operator family registers its operators (one file per family).
void register_elemwise_ops(OpRegistry& registry);
void register_broadcast_ops(OpRegistry& registry);
void register_reduce_ops(OpRegistry& registry);
void register_nn_ops(OpRegistry& registry);
void register_transform_ops(OpRegistry& registry);
void register_vision_ops(OpRegistry& registry);

// Registers `alias`: checked exactly like the registered operator `name`, but
// without a kernel (has_kernel() is false).
void add_kernel_less_alias(OpRegistry& registry, const std::string& name,
                           const std::string& alias);

// For operators that take no attributes: the reference rejects any with
// code 1.
void expect_no_attrs(const NodeAttrs& attrs);

}  // namespace cvm
