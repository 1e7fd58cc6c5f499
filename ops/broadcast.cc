// Binary operators with numpy-style broadcasting: broadcast_add, broadcast_sub,
// broadcast_mul, broadcast_max, broadcast_div, broadcast_greater.
//
// Shapes are aligned at their last dimension; a missing leading dimension
// counts as 1; each pair of dimensions must be equal or contain a 1. Integer
// overflow wraps modulo 2^32, computed in uint32_t.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ops/op.h"

namespace cvm {
namespace {

int32_t wrap(uint32_t v) { return static_cast<int32_t>(v); }

enum class Rule { kPlus, kMultiply, kMaxIn, kFirst };

class BroadcastOp : public Operator {
 public:
  BroadcastOp(const NodeAttrs& attrs, Rule rule) : node_(attrs.node_name), rule_(rule) {}

  uint32_t num_inputs(uint32_t) const override { return 2; }

  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    const Shape& lhs = in[0];
    const Shape& rhs = in[1];
    if (lhs == rhs) {
      out.assign(1, lhs);
      return;
    }
    const size_t ndim = std::max(lhs.size(), rhs.size());
    const size_t pad_l = ndim - lhs.size();
    const size_t pad_r = ndim - rhs.size();
    Shape shape(ndim, 1);
    for (size_t i = 0; i < ndim; ++i) {
      const int64_t l = i >= pad_l ? lhs[i - pad_l] : 1;
      const int64_t r = i >= pad_r ? rhs[i - pad_r] : 1;
      CVM_VERIFY(l == r || l == 1 || r == 1)
          << "operands could not be broadcast together with shapes "
          << shape_string(lhs) << " " << shape_string(rhs) << ", l=" << l
          << ", r=" << r;
      shape[i] = std::max(l, r);
    }
    out.assign(1, shape);
  }

  void infer_precision(const std::vector<Shape>&, std::vector<int>& in,
                       std::vector<int>& out) const override {
    for (size_t i = 0; i < in.size(); ++i) {
      CVM_VERIFY(in[i] != -1) << "operator " << node_ << "'s input " << i
                              << " has no inferred precision";
    }
    switch (rule_) {
      case Rule::kPlus:
        out[0] = std::max(in[0], in[1]) + 1;
        break;
      case Rule::kMultiply:
        out[0] = in[0] + in[1];
        break;
      case Rule::kMaxIn:
        out[0] = std::max(in[0], in[1]);
        break;
      case Rule::kFirst:
        out[0] = in[0];
        break;
    }
  }

 protected:
  // c[i] = f(a[ia], b[ib]) where ia, ib are the broadcast positions of output i.
  template <typename F>
  static void apply(const std::vector<Tensor>& in, const std::vector<Tensor>& out, F f) {
    const Tensor& a = in[0];
    const Tensor& b = in[1];
    const Tensor& c = out[0];
    const int64_t n = c.size();
    const size_t ndim = c.shape.size();

    // Per output dimension: its extent and the strides of a and b along it
    // (0 where that input is broadcast or lacks the dimension).
    std::vector<int64_t> extent(ndim), stride_a(ndim, 0), stride_b(ndim, 0);
    auto fill_strides = [ndim](const Shape& s, const Shape& os, std::vector<int64_t>& st) {
      const size_t pad = ndim - s.size();
      int64_t step = 1;
      for (size_t k = s.size(); k-- > 0;) {
        st[k + pad] = (s[k] == os[k + pad]) ? step : 0;
        step *= s[k];
      }
    };
    for (size_t d = 0; d < ndim; ++d) extent[d] = c.shape[d];
    fill_strides(a.shape, c.shape, stride_a);
    fill_strides(b.shape, c.shape, stride_b);

    // Walk the output in order, moving the input positions like an odometer.
    std::vector<int64_t> index(ndim, 0);
    int64_t ia = 0, ib = 0;
    for (int64_t i = 0; i < n; ++i) {
      c.data[i] = f(a.data[ia], b.data[ib]);
      for (size_t d = ndim; d-- > 0;) {
        ia += stride_a[d];
        ib += stride_b[d];
        if (++index[d] < extent[d]) break;
        ia -= stride_a[d] * extent[d];
        ib -= stride_b[d] * extent[d];
        index[d] = 0;
      }
    }
  }

  std::string node_;
  Rule rule_;
};

int32_t add_fn(int32_t a, int32_t b) {
  return wrap(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}
int32_t sub_fn(int32_t a, int32_t b) {
  return wrap(static_cast<uint32_t>(a) - static_cast<uint32_t>(b));
}
int32_t mul_fn(int32_t a, int32_t b) {
  return wrap(static_cast<uint32_t>(a) * static_cast<uint32_t>(b));
}
int32_t max_fn(int32_t a, int32_t b) { return a > b ? a : b; }
// Truncating division; x / 0 is 0. INT32_MIN / -1 (which traps on x86) wraps
// to INT32_MIN instead.
int32_t div_fn(int32_t a, int32_t b) {
  if (b == 0) return 0;
  if (b == -1) return wrap(0u - static_cast<uint32_t>(a));
  return a / b;
}
int32_t greater_fn(int32_t a, int32_t b) { return a > b ? 1 : 0; }

using ElementFn = int32_t (*)(int32_t, int32_t);

template <ElementFn F>
class BroadcastKernelOp : public BroadcastOp {
 public:
  using BroadcastOp::BroadcastOp;
  KernelInfo kernel_info() const override {
    KernelInfo k;
    k.broadcast = true;
    if (F == add_fn) k.binary = KernelInfo::Binary::kAdd;
    else if (F == sub_fn) k.binary = KernelInfo::Binary::kSub;
    else if (F == mul_fn) k.binary = KernelInfo::Binary::kMul;
    else if (F == max_fn) k.binary = KernelInfo::Binary::kMax;
    else return KernelInfo{};
    k.kind = KernelInfo::Kind::kBinary;
    return k;
  }
  bool writes_whole_output() const override { return true; }
  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    apply(in, out, F);
  }
};

template <ElementFn F>
void add_op(OpRegistry& registry, const char* name, Rule rule) {
  registry.add(name, [rule](const NodeAttrs& attrs) -> std::unique_ptr<Operator> {
    expect_no_attrs(attrs);
    return std::make_unique<BroadcastKernelOp<F>>(attrs, rule);
  });
}



}  // namespace

void register_broadcast_ops(OpRegistry& registry) {
  add_op<add_fn>(registry, "broadcast_add", Rule::kPlus);
  add_op<sub_fn>(registry, "broadcast_sub", Rule::kPlus);
  add_op<mul_fn>(registry, "broadcast_mul", Rule::kMultiply);
  add_op<max_fn>(registry, "broadcast_max", Rule::kMaxIn);
  add_op<div_fn>(registry, "broadcast_div", Rule::kFirst);
  add_op<greater_fn>(registry, "broadcast_greater", Rule::kFirst);
  // Reachable aliases (the "__add_symbol__" style ones are not: the graph
  // loader strips their trailing "_" before the lookup).
  add_kernel_less_alias(registry, "broadcast_add", "add");
  add_kernel_less_alias(registry, "broadcast_sub", "subtract");
  add_kernel_less_alias(registry, "broadcast_mul", "multiply");
}

}  // namespace cvm
