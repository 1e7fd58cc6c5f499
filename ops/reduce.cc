// Reductions over axes: sum and max.
//
// Attributes: axis (tuple, default () = every axis), keepdims, exclude (reduce
// the axes NOT listed), dtype (accepted and unused). Sums wrap modulo 2^32.
//
// The deployed kernel has two quirks that are part of the format:
//  - axis=() without exclude folds every element into an accumulator that
//    starts at 0 (so max of all-negative data is 0); every other reduction
//    starts from the first element of its group.
//  - An output element's position in the input is found by pairing the output
//    dimensions that are not 1 with the kept (not reduced) input dimensions,
//    right to left. When a kept input dimension of extent 1 sits to the right
//    of a reduced one, that pairing differs from the natural one and the
//    kernel reads other elements (always in bounds). We reproduce it.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/op.h"

namespace cvm {
namespace {

const std::map<std::string, int> kDtypeNames = {
    {"float16", 2}, {"float32", 0}, {"float64", 1}, {"uint8", 3},
    {"uint16", 7},  {"uint32", 8},  {"uint64", 9},  {"int8", 5},
    {"int16", 10},  {"int32", 4},   {"int64", 6},
};

enum class Kind { kSum, kMax };

class ReduceOp : public Operator {
 public:
  bool writes_whole_output() const override { return true; }
  ReduceOp(const NodeAttrs& attrs, Kind kind) : node_(attrs.node_name), kind_(kind) {
    AttrReader r(attrs.op_name, attrs.dict);
    axis_ = r.shape("axis", {});
    keepdims_ = r.boolean("keepdims", false);
    exclude_ = r.boolean("exclude", false);
    r.enumeration("dtype", kDtypeNames, 4);
    r.finish();
    // The reference sorts the axes as written, before negative ones are
    // normalised.
    std::sort(axis_.begin(), axis_.end());
  }

  uint32_t num_inputs(uint32_t) const override { return 1; }

  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    const Shape& ishape = in[0];
    const int64_t ndim = static_cast<int64_t>(ishape.size());

    // The reduced axes, ascending.
    std::vector<int64_t> reduced;
    if (axis_.empty()) {
      for (int64_t d = 0; d < ndim; ++d) reduced.push_back(d);
    } else {
      std::vector<int64_t> listed;
      for (int64_t a : axis_) {
        const int64_t d = a < 0 ? a + ndim : a;
        CVM_VERIFY(0 <= d && d <= ndim - 1)
            << "attribute reduce.axis value: " << d << " out of range [0, "
            << ndim - 1 << "]";
        listed.push_back(d);
      }
      std::sort(listed.begin(), listed.end());
      for (size_t i = 0; i + 1 < listed.size(); ++i) {
        CVM_VERIFY(listed[i] != listed[i + 1])
            << "operator " << node_ << ": axis " << listed[i] << " listed twice";
      }
      if (!exclude_) {
        reduced = listed;
      } else {
        for (int64_t d = 0; d < ndim; ++d) {
          if (!std::binary_search(listed.begin(), listed.end(), d)) reduced.push_back(d);
        }
      }
    }

    Shape oshape;
    if (reduced.empty()) {
      oshape = ishape;
    } else if (static_cast<int64_t>(reduced.size()) == ndim) {
      oshape.assign(keepdims_ ? ishape.size() : 1, 1);
    } else {
      for (int64_t d = 0; d < ndim; ++d) {
        const bool r = std::binary_search(reduced.begin(), reduced.end(), d);
        if (!r) {
          oshape.push_back(ishape[d]);
        } else if (keepdims_) {
          oshape.push_back(1);
        }
      }
    }
    out.assign(1, oshape);
  }

  void infer_precision(const std::vector<Shape>& shapes, std::vector<int>& in,
                       std::vector<int>& out) const override {
    CVM_VERIFY(in[0] != -1) << "operator " << node_
                            << "'s input 0 has no inferred precision";
    if (kind_ == Kind::kMax) {
      out[0] = in[0];
      return;
    }
    // A sum of K values of p bits needs p + bit_length(K) bits.
    int64_t k = shape_size(shapes[0]) / shape_size(shapes[1]);
    int bits = 0;
    for (; k != 0; k >>= 1) ++bits;
    out[0] = in[0] + bits;
  }

  int64_t gas_per_output(const std::vector<Shape>& in,
                         const std::vector<Shape>& out) const override {
    if (kind_ == Kind::kMax) return 1;
    return shape_size(in[0]) / shape_size(out[0]);
  }

  KernelInfo kernel_info() const override {
    KernelInfo k;
    k.kind = KernelInfo::Kind::kReduce;
    k.reduce_max = kind_ != Kind::kSum;
    k.exclude_axes = exclude_;
    k.axes = axis_;
    return k;
  }

  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    if (kind_ == Kind::kSum) {
      reduce(in[0], out[0], [](int32_t acc, int32_t v) {
        return static_cast<int32_t>(static_cast<uint32_t>(acc) + static_cast<uint32_t>(v));
      });
    } else {
      reduce(in[0], out[0], [](int32_t acc, int32_t v) { return acc < v ? v : acc; });
    }
  }

 private:
  template <typename Fold>
  void reduce(const Tensor& x, const Tensor& y, Fold fold) const {
    const size_t ndim = x.shape.size();
    const int64_t xsize = x.size();

    // The kernel's reduced axes (the shape rule has verified them).
    std::vector<bool> flag(ndim, false);
    size_t nreduced = 0;
    if (!exclude_) {
      for (int64_t a : axis_) {
        flag[a < 0 ? a + static_cast<int64_t>(ndim) : a] = true;
      }
      nreduced = axis_.size();
    } else {
      std::vector<bool> listed(ndim, false);
      for (int64_t a : axis_) listed[a < 0 ? a + static_cast<int64_t>(ndim) : a] = true;
      for (size_t d = 0; d < ndim; ++d) {
        flag[d] = !listed[d];
        if (flag[d]) ++nreduced;
      }
    }

    if (exclude_ && nreduced == 0) {  // every axis excluded: a copy
      std::copy(x.data, x.data + xsize, y.data);
      return;
    }
    if (nreduced == 0) {  // axis=(): everything, from an accumulator of 0
      int32_t acc = 0;
      for (int64_t i = 0; i < xsize; ++i) acc = fold(acc, x.data[i]);
      y.data[0] = acc;
      return;
    }

    std::vector<int64_t> stride(ndim, 1);
    for (size_t d = ndim - 1; d-- > 0;) stride[d] = stride[d + 1] * x.shape[d + 1];

    // Output dimensions other than 1, each paired (right to left) with the
    // next kept input dimension, whose stride it steps by.
    std::vector<int64_t> out_extent, out_stride;
    {
      int64_t xd = static_cast<int64_t>(ndim) - 1;
      for (size_t j = y.shape.size(); j-- > 0;) {
        if (y.shape[j] == 1) continue;
        while (xd >= 0 && flag[xd]) --xd;
        out_extent.push_back(y.shape[j]);
        // xd >= 0 always: the kept input dimensions outnumber these.
        out_stride.push_back(stride[xd >= 0 ? xd : 0]);
        --xd;
      }
      std::reverse(out_extent.begin(), out_extent.end());
      std::reverse(out_stride.begin(), out_stride.end());
    }

    // The reduced input dimensions.
    std::vector<int64_t> red_extent, red_stride;
    int64_t group = 1;
    for (size_t d = 0; d < ndim; ++d) {
      if (!flag[d]) continue;
      red_extent.push_back(x.shape[d]);
      red_stride.push_back(stride[d]);
      group *= x.shape[d];
    }

    // Advances an odometer over `extent`, keeping `offset` = sum(index * step).
    auto advance = [](std::vector<int64_t>& index, const std::vector<int64_t>& extent,
                      const std::vector<int64_t>& step, int64_t& offset) {
      for (size_t d = index.size(); d-- > 0;) {
        offset += step[d];
        if (++index[d] < extent[d]) return;
        offset -= step[d] * extent[d];
        index[d] = 0;
      }
    };

    const int64_t ysize = y.size();
    std::vector<int64_t> out_index(out_extent.size(), 0);
    std::vector<int64_t> red_index(red_extent.size(), 0);
    int64_t base = 0;
    for (int64_t i = 0; i < ysize; ++i) {
      int32_t acc = x.data[base];
      int64_t offset = 0;
      std::fill(red_index.begin(), red_index.end(), 0);
      for (int64_t k = 1; k < group; ++k) {
        advance(red_index, red_extent, red_stride, offset);
        acc = fold(acc, x.data[base + offset]);
      }
      y.data[i] = acc;
      advance(out_index, out_extent, out_stride, base);
    }
  }

  std::string node_;
  Kind kind_;
  std::vector<int64_t> axis_;
  bool keepdims_ = false;
  bool exclude_ = false;
};

}  // namespace

void register_reduce_ops(OpRegistry& registry) {
  registry.add("sum", [](const NodeAttrs& attrs) -> std::unique_ptr<Operator> {
    return std::make_unique<ReduceOp>(attrs, Kind::kSum);
  });
  registry.add("max", [](const NodeAttrs& attrs) -> std::unique_ptr<Operator> {
    return std::make_unique<ReduceOp>(attrs, Kind::kMax);
  });
}

}  // namespace cvm
