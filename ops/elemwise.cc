// Element-wise operators: abs, negative, relu, cvm_precision, clip, cvm_clip,
// cvm_right_shift, cvm_left_shift, elemwise_add, elemwise_sub.
//
// All of them keep the input's shape. Integer overflow wraps modulo 2^32 (the
// deployed kernels' behaviour), computed in uint32_t so it is never UB. Each
// kernel reads element i before writing element i, so the output may share
// memory with an input.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/int_math.h"
#include "ops/op.h"

namespace cvm {
namespace {

// ---------------------------------------------------------------------------
// Helpers

int32_t wrap(uint32_t v) { return static_cast<int32_t>(v); }

int32_t clamp(int32_t v, int32_t lo, int32_t hi) {
  return v > hi ? hi : (v < lo ? lo : v);
}

// Every input must have a precision before the rule runs (code 1).
void require_input_precisions(const std::vector<int>& prec, const std::string& node) {
  for (size_t i = 0; i < prec.size(); ++i) {
    CVM_VERIFY(prec[i] != -1) << "operator " << node << "'s input " << i
                              << " has no inferred precision";
  }
}

// Bits needed for a signed number of magnitude n: bit_length(n + 1) + 1.
int number_precision(int64_t n) {
  int bits = 0;
  for (int64_t v = n + 1; v != 0; v >>= 1) ++bits;
  return bits + 1;
}

// ---------------------------------------------------------------------------
// Shared shapes of the family

// One input, output of the same shape.
class UnaryOp : public Operator {
 public:
  bool writes_whole_output() const override { return true; }
  explicit UnaryOp(const NodeAttrs& attrs) : node_(attrs.node_name) {}
  uint32_t num_inputs(uint32_t) const override { return 1; }
  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    out.assign(1, in[0]);
  }

 protected:
  // Applies f to every element; safe when input and output are the same memory.
  template <typename F>
  static void map(const std::vector<Tensor>& in, const std::vector<Tensor>& out, F f) {
    const int32_t* x = in[0].data;
    int32_t* y = out[0].data;
    const int64_t n = in[0].size();
    for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
  }

  std::string node_;
};

// Two inputs of exactly the same shape, output of that shape.
class BinaryOp : public Operator {
 public:
  bool writes_whole_output() const override { return true; }
  explicit BinaryOp(const NodeAttrs& attrs) : node_(attrs.node_name) {}
  uint32_t num_inputs(uint32_t) const override { return 2; }
  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    CVM_VERIFY(in[0] == in[1]) << "Incompatible attr in node " << node_
                               << " at 1-th input: expected " << shape_string(in[0])
                               << ", got " << shape_string(in[1]);
    out.assign(1, in[0]);
  }
  void infer_precision(const std::vector<Shape>&, std::vector<int>& in,
                       std::vector<int>& out) const override {
    require_input_precisions(in, node_);
    out[0] = (in[0] > in[1] ? in[0] : in[1]) + 1;
  }
  bool in_place_allowed() const override { return true; }

 protected:
  template <typename F>
  static void zip(const std::vector<Tensor>& in, const std::vector<Tensor>& out, F f) {
    const int32_t* a = in[0].data;
    const int32_t* b = in[1].data;
    int32_t* c = out[0].data;
    const int64_t n = in[0].size();
    for (int64_t i = 0; i < n; ++i) c[i] = f(a[i], b[i]);
  }

  std::string node_;
};

// ---------------------------------------------------------------------------
// Operators without attributes

// Output precision equals the input's.
class SamePrecisionUnary : public UnaryOp {
 public:
  using UnaryOp::UnaryOp;
  void infer_precision(const std::vector<Shape>&, std::vector<int>& in,
                       std::vector<int>& out) const override {
    require_input_precisions(in, node_);
    out[0] = in[0];
  }
};

class AbsOp : public SamePrecisionUnary {
 public:
  using SamePrecisionUnary::SamePrecisionUnary;
  bool in_place_allowed() const override { return true; }
  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    // |INT32_MIN| wraps to INT32_MIN.
    map(in, out, [](int32_t v) {
      uint32_t u = static_cast<uint32_t>(v);
      return wrap(v < 0 ? 0u - u : u);
    });
  }
};

// Not in the reference's in-place list (it spells the name "nagetive").
class NegativeOp : public SamePrecisionUnary {
 public:
  using SamePrecisionUnary::SamePrecisionUnary;
  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    map(in, out, [](int32_t v) { return wrap(0u - static_cast<uint32_t>(v)); });
  }
};

class ReluOp : public SamePrecisionUnary {
 public:
  using SamePrecisionUnary::SamePrecisionUnary;
  bool in_place_allowed() const override { return true; }
  KernelInfo kernel_info() const override {
    KernelInfo k;
    k.kind = KernelInfo::Kind::kClamp;
    k.clamp_lo = 0;
    k.clamp_hi = INT32_MAX;
    return k;
  }
  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    map(in, out, [](int32_t v) { return v < 0 ? 0 : v; });
  }
};

// The number of bits of |x|, at least 1: the smallest i >= 1 with |x| < 2^i.
class CvmPrecisionOp : public UnaryOp {
 public:
  using UnaryOp::UnaryOp;
  bool in_place_allowed() const override { return true; }
  void infer_precision(const std::vector<Shape>&, std::vector<int>& in,
                       std::vector<int>& out) const override {
    require_input_precisions(in, node_);
    out[0] = 6;
  }
  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    map(in, out, [](int32_t v) {
      int64_t magnitude = v < 0 ? -int64_t{v} : int64_t{v};
      int32_t bits = 0;
      while (magnitude != 0) {
        ++bits;
        magnitude >>= 1;
      }
      return bits == 0 ? 1 : bits;
    });
  }
};

class ElemwiseAddOp : public BinaryOp {
 public:
  using BinaryOp::BinaryOp;
  KernelInfo kernel_info() const override {
    KernelInfo k;
    k.kind = KernelInfo::Kind::kBinary;
    k.binary = KernelInfo::Binary::kAdd;
    return k;
  }
  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    zip(in, out, [](int32_t a, int32_t b) {
      return wrap(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
    });
  }
};

class ElemwiseSubOp : public BinaryOp {
 public:
  using BinaryOp::BinaryOp;
  KernelInfo kernel_info() const override {
    KernelInfo k;
    k.kind = KernelInfo::Kind::kBinary;
    k.binary = KernelInfo::Binary::kSub;
    return k;
  }
  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    zip(in, out, [](int32_t a, int32_t b) {
      return wrap(static_cast<uint32_t>(a) - static_cast<uint32_t>(b));
    });
  }
};

// ---------------------------------------------------------------------------
// Operators with attributes

// clip(x) = max(min(x, a_max), a_min).
class ClipOp : public UnaryOp {
 public:
  explicit ClipOp(const NodeAttrs& attrs) : UnaryOp(attrs) {
    AttrReader r(attrs.op_name, attrs.dict);
    a_min_ = r.integer("a_min");
    a_max_ = r.integer("a_max");
    r.finish();
  }
  bool in_place_allowed() const override { return true; }
  void infer_precision(const std::vector<Shape>&, std::vector<int>& in,
                       std::vector<int>& out) const override {
    require_input_precisions(in, node_);
    const int64_t r = (int64_t{1} << 31) - 1;
    verify_attr_range(a_max_, "clip.a_max", -r, r);
    verify_attr_range(a_min_, "clip.a_min", -r, r);
    CVM_VERIFY(a_min_ < a_max_) << "clip a_min must less than a_max";
    const int64_t hi = a_max_ < 0 ? -int64_t{a_max_} : int64_t{a_max_};
    const int64_t lo = a_min_ < 0 ? -int64_t{a_min_} : int64_t{a_min_};
    out[0] = number_precision(hi > lo ? hi : lo);
  }
  KernelInfo kernel_info() const override {
    KernelInfo k;
    k.kind = KernelInfo::Kind::kClamp;
    k.clamp_lo = a_min_;
    k.clamp_hi = a_max_;
    return k;
  }
  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    const int32_t lo = a_min_, hi = a_max_;
    map(in, out, [lo, hi](int32_t v) {
      int32_t t = v < hi ? v : hi;
      return t > lo ? t : lo;
    });
  }

 private:
  int a_min_ = 0;
  int a_max_ = 0;
};

// The operators with attributes precision and is_sign (read, unused), and
// for the shifts shift_bit; in place.
class PrecisionOp : public UnaryOp {
 public:
  PrecisionOp(const NodeAttrs& attrs, bool has_shift) : UnaryOp(attrs) {
    AttrReader r(attrs.op_name, attrs.dict);
    precision_ = r.integer("precision");
    r.boolean("is_sign", true);
    if (has_shift) shift_ = r.integer("shift_bit");
    r.finish();
  }
  bool in_place_allowed() const override { return true; }

 protected:
  int precision_ = 0;
  int shift_ = 0;
};

// Clips to [-(2^(p-1) - 1), 2^(p-1) - 1]. The deployed kernel ignores is_sign.
class CvmClipOp : public PrecisionOp {
 public:
  explicit CvmClipOp(const NodeAttrs& attrs) : PrecisionOp(attrs, false) {}
  void infer_precision(const std::vector<Shape>&, std::vector<int>& in,
                       std::vector<int>& out) const override {
    require_input_precisions(in, node_);
    verify_attr_range(precision_, "cvm_clip.precision", 1, 32);
    out[0] = precision_;
  }
  KernelInfo kernel_info() const override {
    KernelInfo k;
    k.kind = KernelInfo::Kind::kClamp;
    k.clamp_hi = precision_bound(precision_);
    k.clamp_lo = -k.clamp_hi;
    return k;
  }
  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    const int32_t hi = precision_bound(precision_);
    map(in, out, [hi](int32_t v) { return clamp(v, -hi, hi); });
  }
};

// The two shifts.
class ShiftOp : public PrecisionOp {
 public:
  explicit ShiftOp(const NodeAttrs& attrs) : PrecisionOp(attrs, true) {}

 protected:
  // The precision rule's checks, in the reference's order.
  void verify_shift_attrs(const std::vector<int>& in, const std::string& op) const {
    require_input_precisions(in, node_);
    verify_attr_range(precision_, (op + ".precision").c_str(), 1, 32);
    verify_attr_range(shift_, (op + ".shift_bit").c_str(), 1, 32);
  }
};

// Rounding right shift, then clip to the precision:
//   y = clip(((x >> (s - 1)) + 1) >> 1)
// computed the way the deployed kernel does, case by case:
//   precision 1          -> every output is 0 (the clip range is [0, 0]);
//   s >= 31              -> y = x >> 31 (0 or -1), no rounding, no clip;
//   precision + s >= 32  -> rounding shift without clip (the "+ 1" wraps);
//   otherwise            -> inputs beyond the range that rounds into the
//                           clip interval are saturated before shifting.
class CvmRightShiftOp : public ShiftOp {
 public:
  explicit CvmRightShiftOp(const NodeAttrs& attrs) : ShiftOp(attrs) {}
  void infer_precision(const std::vector<Shape>&, std::vector<int>& in,
                       std::vector<int>& out) const override {
    verify_shift_attrs(in, "cvm_right_shift");
    out[0] = precision_;
  }
  KernelInfo kernel_info() const override {
    KernelInfo k;
    k.kind = KernelInfo::Kind::kRightShift;
    k.precision = precision_;
    k.shift_bit = shift_;
    return k;
  }
  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    const RightShiftRule rule = right_shift_rule(precision_, shift_);
    const int s = shift_;
    auto round_shift = [s](int32_t v) { return rounding_shift_right(v, s); };
    switch (rule.kind) {
      case RightShiftRule::Kind::kZero:
        map(in, out, [](int32_t) { return 0; });
        break;
      case RightShiftRule::Kind::kSignOnly:
        map(in, out, [](int32_t v) { return v < 0 ? -1 : 0; });
        break;
      case RightShiftRule::Kind::kRound:
        map(in, out, round_shift);
        break;
      case RightShiftRule::Kind::kSaturate: {
        const int32_t hi = rule.hi, x_lo = rule.x_lo, x_hi = rule.x_hi;
        map(in, out, [=](int32_t v) {
          if (v < x_lo) return -hi;
          if (v > x_hi) return hi;
          return round_shift(v);
        });
        break;
      }
    }
  }
};

// Left shift then clip to the precision. The deployed CPU kernel always fails
// (an argument type bug); this follows the reference's specification build:
//   t = x << s (wrapping); y = clip(t, -(2^(p-1) - 1), 2^(p-1) - 1).
class CvmLeftShiftOp : public ShiftOp {
 public:
  explicit CvmLeftShiftOp(const NodeAttrs& attrs) : ShiftOp(attrs) {}
  void infer_precision(const std::vector<Shape>&, std::vector<int>& in,
                       std::vector<int>& out) const override {
    verify_shift_attrs(in, "cvm_left_shift");
    // The reference's rule returns "failed" here: a runtime-class error.
    CVM_CHECK(in[0] + shift_ <= 32)
        << "operator cvm_left_shift name=" << node_ << ": infer precision failed";
    out[0] = precision_;
  }
  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    const int32_t hi = precision_bound(precision_);
    const int s = shift_ & 31;  // verified to be in [1, 31] by now
    map(in, out, [hi, s](int32_t v) {
      return clamp(wrap(static_cast<uint32_t>(v) << s), -hi, hi);
    });
  }
};


template <typename Op>
void add_op(OpRegistry& registry, const char* name, bool takes_attrs) {
  registry.add(name, [takes_attrs](const NodeAttrs& attrs) -> std::unique_ptr<Operator> {
    if (!takes_attrs) expect_no_attrs(attrs);
    return std::make_unique<Op>(attrs);
  });
}

}  // namespace

void register_elemwise_ops(OpRegistry& registry) {
  add_op<AbsOp>(registry, "abs", false);
  add_op<NegativeOp>(registry, "negative", false);
  add_op<ReluOp>(registry, "relu", false);
  add_op<CvmPrecisionOp>(registry, "cvm_precision", false);
  add_op<ElemwiseAddOp>(registry, "elemwise_add", false);
  add_op<ElemwiseSubOp>(registry, "elemwise_sub", false);
  add_op<ClipOp>(registry, "clip", true);
  add_op<CvmClipOp>(registry, "cvm_clip", true);
  add_op<CvmRightShiftOp>(registry, "cvm_right_shift", true);
  add_op<CvmLeftShiftOp>(registry, "cvm_left_shift", true);
  add_kernel_less_alias(registry, "relu", "nn.relu");
}

}  // namespace cvm
