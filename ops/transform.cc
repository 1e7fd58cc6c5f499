// Transform operators: they move, select or repeat int32 values without
// computing new ones. flatten, concatenate, expand_dims, repeat, tile,
// reshape, squeeze, transpose, strided_slice, slice_like, take, cvm_lut,
// where.
//
// Every check below keeps the reference's error class: its VERIFY family is
// code 1 (CVM_VERIFY), its attribute parser code 2 (AttrReader).

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ops/op.h"

namespace cvm {
namespace {

// int64 -> int32 the way the reference's implicit narrowing behaves (keep
// the low 32 bits), without relying on implementation-defined conversion.
int32_t low32(int64_t v) {
  uint32_t bits = static_cast<uint32_t>(static_cast<uint64_t>(v));
  int32_t out;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

// int32 product with two's-complement wraparound.
int32_t wrap_mul32(int32_t a, int32_t b) {
  return low32(static_cast<int64_t>(static_cast<uint32_t>(a) * static_cast<uint32_t>(b)));
}

// Product of dims with int64 wraparound (the reference's TShape::Size on
// unverified shapes).
int64_t wrap_size(const Shape& s) {
  uint64_t n = 1;
  for (int64_t d : s) n *= static_cast<uint64_t>(d);
  return static_cast<int64_t>(n);
}

// Row-major strides of a shape.
std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

// y[i] = x[base + sum_j idx_j * step[j]], idx being the multi-index of flat
// output index i in shape ys (whole rows copied when the last step is 1).
void gather_strided(const int32_t* x, int32_t* y, const Shape& ys, int64_t base,
                    const std::vector<int64_t>& step) {
  const size_t ndim = ys.size();
  if (ndim == 0) {
    y[0] = x[base];
    return;
  }
  const int64_t row = ys[ndim - 1];
  if (row == 0) return;
  const bool runs = step[ndim - 1] == 1;
  int64_t rows = 1;
  for (size_t j = 0; j + 1 < ndim; ++j) rows *= ys[j];
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rest = r, src = base;
    for (size_t j = ndim - 1; j-- > 0;) {
      src += (rest % ys[j]) * step[j];
      rest /= ys[j];
    }
    if (runs) {
      std::memcpy(y + r * row, x + src, static_cast<size_t>(row) * sizeof(int32_t));
    } else {
      for (int64_t k = 0; k < row; ++k) y[r * row + k] = x[src + k * step[ndim - 1]];
    }
  }
}

// Common base: keeps the node's name for messages. Unless an operator says
// otherwise, the output has the precision of input 0.
class TransformOp : public Operator {
 public:
  explicit TransformOp(const NodeAttrs& attrs) : name_(attrs.node_name) {}
  void infer_precision(const std::vector<Shape>&, std::vector<int>& in,
                       std::vector<int>& out) const override {
    precision_of_input(in, out, 0);
  }

 protected:
  // Every input precision must be known (the reference's IN_PREC_CHECK).
  void check_inputs_inferred(const std::vector<int>& in) const {
    for (size_t i = 0; i < in.size(); ++i) {
      CVM_VERIFY(in[i] != -1) << "operator " << name_ << "'s inputs(" << i
                              << ") has not been infered precision";
    }
  }
  // The output takes the precision of input `index`.
  void precision_of_input(const std::vector<int>& in, std::vector<int>& out,
                          size_t index) const {
    check_inputs_inferred(in);
    out.assign(1, in.at(index));
  }

  std::string name_;
};

// Operators whose output is their input's bytes under another shape. The
// reference lets them run in place; then there is nothing to do.
class CopyOp : public TransformOp {
 public:
  using TransformOp::TransformOp;
  uint32_t num_inputs(uint32_t) const override { return 1; }
  bool in_place_allowed() const override { return true; }
  KernelInfo kernel_info() const override {
    KernelInfo k;
    k.kind = KernelInfo::Kind::kCopy;
    return k;
  }
  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    if (in[0].data == out[0].data) return;
    std::memmove(out[0].data, in[0].data,
                 static_cast<size_t>(in[0].size()) * sizeof(int32_t));
  }
};

// ---------------------------------------------------------------- flatten

class Flatten : public CopyOp {
 public:
  bool writes_whole_output() const override { return true; }
  explicit Flatten(const NodeAttrs& attrs) : CopyOp(attrs) { expect_no_attrs(attrs); }
  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    const Shape& d = in[0];
    int64_t rest = 1;
    for (size_t i = 1; i < d.size(); ++i) rest *= d[i];
    out.assign(1, Shape{d[0], rest});
  }
};

// ------------------------------------------------------------ expand_dims

class ExpandDims : public CopyOp {
 public:
  explicit ExpandDims(const NodeAttrs& attrs) : CopyOp(attrs) {
    AttrReader r(attrs.op_name, attrs.dict);
    axis_ = r.integer("axis");
    num_newaxis_ = r.integer_in("num_newaxis", 1, 1, std::nullopt);
    r.finish();
  }
  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    const Shape& d = in[0];
    const int64_t ndim = static_cast<int64_t>(d.size());
    verify_attr_range(axis_, "expand_dims.axis", -ndim - 1, ndim);
    verify_attr_range(num_newaxis_, "expand_dims.num_newaxis");
    const int64_t at = axis_ < 0 ? ndim + axis_ + 1 : axis_;
    Shape o(d.begin(), d.begin() + at);
    o.insert(o.end(), static_cast<size_t>(num_newaxis_), 1);
    o.insert(o.end(), d.begin() + at, d.end());
    out.assign(1, o);
  }

 private:
  int axis_;
  int num_newaxis_;
};

// ---------------------------------------------------------------- reshape

class Reshape : public CopyOp {
 public:
  bool writes_whole_output() const override { return true; }
  explicit Reshape(const NodeAttrs& attrs) : CopyOp(attrs) {
    AttrReader r(attrs.op_name, attrs.dict);
    target_ = r.shape("shape");
    r.finish();
  }

  // The target may hold special values: 0 copies a source dim, -1 is
  // inferred from the rest, -2 copies all remaining source dims, -3 merges
  // two source dims, -4 splits one source dim into the next two values.
  // Values below -4 are skipped. Arithmetic narrows to int32 where the
  // reference does.
  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    CVM_VERIFY(!target_.empty()) << "reshape: empty target shape";
    const Shape& d = in[0];
    const int64_t ndim = static_cast<int64_t>(d.size());
    const int64_t tdim = static_cast<int64_t>(target_.size());
    Shape o;
    int64_t src = 0;
    int64_t infer_at = -1;
    for (int64_t i = 0; i < tdim; ++i) {
      const int64_t v = target_[i];
      if (v > 0) {
        o.push_back(v);
        ++src;
      } else if (v == 0) {
        CVM_VERIFY(src < ndim) << "reshape: no source dim to copy";
        o.push_back(d[src++]);
      } else if (v == -1) {
        CVM_VERIFY(infer_at < 0) << "One and only one dim can be inferred";
        infer_at = i;
        o.push_back(1);
        ++src;
      } else if (v == -2) {
        while (src < ndim) o.push_back(d[src++]);
      } else if (v == -3) {
        CVM_VERIFY(src + 1 < ndim) << "reshape: -3 needs two source dims";
        const int64_t a = d[src++];
        const int64_t b = d[src++];
        o.push_back(a * b);
      } else if (v == -4) {
        CVM_VERIFY(i + 2 < tdim) << "reshape: -4 needs two values after it";
        CVM_VERIFY(src < ndim) << "reshape: no source dim to split";
        const int64_t whole = d[src++];
        int32_t left = low32(target_[++i]);
        int32_t right = low32(target_[++i]);
        CVM_VERIFY(left != -1 || right != -1) << "Split dims cannot both be -1.";
        if (left == -1) {
          // The reference divides by zero here (it crashes).
          CVM_VERIFY(right != 0) << "reshape: split by a zero dim";
          left = low32(whole / right);
        }
        if (right == -1) {
          CVM_VERIFY(left != 0) << "reshape: split by a zero dim";
          right = low32(whole / left);
        }
        CVM_VERIFY(wrap_mul32(left, right) == low32(whole))
            << "Split dims " << left << ", " << right
            << " do not divide original dim " << whole;
        o.push_back(left);
        o.push_back(right);
      }
    }
    const int64_t src_size = shape_size(d);
    if (infer_at >= 0) {
      int32_t known = 1;
      for (int64_t x : o) known = wrap_mul32(known, low32(x));
      // The reference divides by zero here (it crashes).
      CVM_VERIFY(known != 0) << "reshape: cannot infer a dim from a zero size";
      o[infer_at] = src_size / known;
    }
    CVM_VERIFY(wrap_size(o) == src_size)
        << "Target shape size is different to source. Target: " << shape_string(o)
        << " Source: " << shape_string(d);
    out.assign(1, o);
  }

 private:
  std::vector<int64_t> target_;
};

// ---------------------------------------------------------------- squeeze

class Squeeze : public CopyOp {
 public:
  explicit Squeeze(const NodeAttrs& attrs) : CopyOp(attrs) {
    AttrReader r(attrs.op_name, attrs.dict);
    axis_ = r.shape("axis", {});
    r.finish();
  }
  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    const Shape& d = in[0];
    const int64_t ndim = static_cast<int64_t>(d.size());
    Shape o;
    if (axis_.empty()) {
      for (int64_t v : d) {
        if (v != 1) o.push_back(v);
      }
    } else {
      std::set<int64_t> drop;
      for (int64_t a : axis_) {
        verify_attr_range(a, "squeeze.axis", -ndim, ndim - 1);
        drop.insert(a < 0 ? a + ndim : a);
      }
      for (int64_t i = 0; i < ndim; ++i) {
        if (drop.count(i) == 0) {
          o.push_back(d[i]);
        } else {
          CVM_VERIFY(d[i] == 1) << "The squeezed axis must have shape 1! Want to squeeze "
                                << i << ", which has shape" << d[i];
        }
      }
    }
    if (o.empty()) o.push_back(1);
    CVM_VERIFY(shape_size(o) == shape_size(d))
        << "Target shape size is different to source.";
    out.assign(1, o);
  }

 private:
  std::vector<int64_t> axis_;
};

// ------------------------------------------------------------ concatenate

class Concatenate : public TransformOp {
 public:
  bool writes_whole_output() const override { return true; }
  explicit Concatenate(const NodeAttrs& attrs) : TransformOp(attrs) {
    AttrReader r(attrs.op_name, attrs.dict);
    axis_ = r.integer("axis", 1);
    r.finish();
  }
  uint32_t num_inputs(uint32_t given) const override { return given; }

  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    CVM_VERIFY(!in.empty()) << "concatenate needs at least one input";
    const int64_t ndim = static_cast<int64_t>(in[0].size());
    verify_attr_range(axis_, "concatenate.axis", -ndim, ndim - 1);
    const int64_t axis = axis_ >= 0 ? axis_ : ndim + axis_;
    for (const Shape& s : in) {
      CVM_VERIFY(static_cast<int64_t>(s.size()) == ndim)
          << "concatenate: inputs differ in rank";
    }
    // Every dim but the axis must agree; the axis dims add up.
    Shape o = in[0];
    int64_t total = 0;
    for (const Shape& s : in) {
      for (int64_t k = 0; k < ndim; ++k) {
        CVM_VERIFY(k == axis || s[k] == o[k])
            << "concatenate: input shape " << shape_string(s) << " does not match "
            << shape_string(in[0]) << " off axis " << axis;
      }
      total += s[axis];
    }
    o[axis] = total;
    out.assign(1, o);
  }

  void infer_precision(const std::vector<Shape>&, std::vector<int>& in,
                       std::vector<int>& out) const override {
    check_inputs_inferred(in);
    CVM_VERIFY(!in.empty()) << "concatenate needs at least one input";
    out.assign(1, *std::max_element(in.begin(), in.end()));
  }

  KernelInfo kernel_info() const override {
    KernelInfo k;
    k.kind = KernelInfo::Kind::kConcat;
    k.axis = axis_;
    return k;
  }

  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    const Shape& os = out[0].shape;
    const int64_t ndim = static_cast<int64_t>(os.size());
    const int64_t axis = axis_ >= 0 ? axis_ : ndim + axis_;
    int64_t outer = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= os[i];
    int64_t inner = 1;
    for (int64_t i = axis + 1; i < ndim; ++i) inner *= os[i];
    const int64_t out_row = os[axis] * inner;
    int64_t offset = 0;
    for (const Tensor& t : in) {
      const int64_t row = t.shape[axis] * inner;
      for (int64_t o = 0; o < outer; ++o) {
        std::memcpy(out[0].data + o * out_row + offset, t.data + o * row,
                    static_cast<size_t>(row) * sizeof(int32_t));
      }
      offset += row;
    }
  }

 private:
  int axis_;
};

// ----------------------------------------------------------------- repeat

class Repeat : public TransformOp {
 public:
  explicit Repeat(const NodeAttrs& attrs) : TransformOp(attrs) {
    AttrReader r(attrs.op_name, attrs.dict);
    repeats_ = r.integer("repeats");
    axis_ = r.integer("axis", 0);
    r.finish();
  }
  uint32_t num_inputs(uint32_t) const override { return 1; }

  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    const Shape& d = in[0];
    const int64_t ndim = static_cast<int64_t>(d.size());
    CVM_VERIFY(repeats_ > 0) << "operator " << name_ << " repeats:" << repeats_
                             << " must greater than 0";
    verify_attr_range(axis_, "repeat.axis", -ndim, ndim - 1);
    const int64_t axis = axis_ < 0 ? ndim + axis_ : axis_;
    Shape o = d;
    o[axis] = d[axis] * repeats_;
    out.assign(1, o);
  }


  // Each element along the axis appears `repeats` times in a row.
  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    const Shape& xs = in[0].shape;
    const int64_t ndim = static_cast<int64_t>(xs.size());
    const int64_t axis = axis_ < 0 ? ndim + axis_ : axis_;
    int64_t outer = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= xs[i];
    int64_t inner = 1;
    for (int64_t i = axis + 1; i < ndim; ++i) inner *= xs[i];
    const int64_t n = xs[axis];
    const int32_t* x = in[0].data;
    int32_t* y = out[0].data;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t k = 0; k < n; ++k) {
        const int32_t* src = x + (o * n + k) * inner;
        for (int64_t r = 0; r < repeats_; ++r) {
          std::memcpy(y, src, static_cast<size_t>(inner) * sizeof(int32_t));
          y += inner;
        }
      }
    }
  }

 private:
  int repeats_;
  int axis_;
};

// ------------------------------------------------------------------- tile

class Tile : public TransformOp {
 public:
  explicit Tile(const NodeAttrs& attrs) : TransformOp(attrs) {
    AttrReader r(attrs.op_name, attrs.dict);
    reps_ = r.shape("reps", {0});
    r.finish();
  }
  uint32_t num_inputs(uint32_t) const override { return 1; }

  // Shapes align on the right; missing dims count as 1.
  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    const Shape& d = in[0];
    CVM_VERIFY(!reps_.empty()) << "repetition array is not defined. data.ndim = "
                               << d.size();
    for (int64_t r : reps_) verify_attr_range(r, "tile.reps", 1);
    const size_t sdim = d.size(), rdim = reps_.size();
    const size_t odim = std::max(sdim, rdim);
    Shape o(odim);
    for (size_t i = 0; i < odim; ++i) {
      const int64_t s = i < sdim ? d[sdim - 1 - i] : 1;
      const int64_t r = i < rdim ? reps_[rdim - 1 - i] : 1;
      o[odim - 1 - i] = s * r;
    }
    out.assign(1, o);
  }


  // y[k_0, ..., k_{m-1}] = x[k_{m-n} mod x_0, ..., k_{m-1} mod x_{n-1}].
  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    const Shape& xs = in[0].shape;
    const Shape& ys = out[0].shape;
    const size_t xdim = xs.size(), ydim = ys.size(), lead = ydim - xdim;
    const std::vector<int64_t> xst = strides_of(xs);
    // First the block spanned by the trailing xdim dims of y.
    int64_t block = 1;
    for (size_t j = lead; j < ydim; ++j) block *= ys[j];
    const int32_t* x = in[0].data;
    int32_t* y = out[0].data;
    for (int64_t i = 0; i < block; ++i) {
      int64_t rest = i, src = 0;
      for (size_t j = xdim; j-- > 0;) {
        const int64_t yd = ys[j + lead];
        const int64_t col = rest % yd;
        rest /= yd;
        src += (col % xs[j]) * xst[j];
      }
      y[i] = x[src];
    }
    // Then that block once per index of the leading dims.
    int64_t copies = 1;
    for (size_t j = 0; j < lead; ++j) copies *= ys[j];
    for (int64_t c = 1; c < copies; ++c) {
      std::memcpy(y + c * block, y, static_cast<size_t>(block) * sizeof(int32_t));
    }
  }

 private:
  std::vector<int64_t> reps_;
};

// -------------------------------------------------------------- transpose

class Transpose : public TransformOp {
 public:
  explicit Transpose(const NodeAttrs& attrs) : TransformOp(attrs) {
    AttrReader r(attrs.op_name, attrs.dict);
    axes_ = r.shape("axes", {});
    r.finish();
  }
  uint32_t num_inputs(uint32_t) const override { return 1; }

  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    const Shape& d = in[0];
    const int64_t ndim = static_cast<int64_t>(d.size());
    Shape o(d.size());
    if (axes_.empty()) {
      for (int64_t i = 0; i < ndim; ++i) o[i] = d[ndim - 1 - i];
    } else {
      CVM_VERIFY(static_cast<int64_t>(axes_.size()) == ndim)
          << "transpose: axes " << shape_string(axes_) << " do not match rank " << ndim;
      // Axes are made non-negative one at a time; each is compared with
      // all others (earlier ones already normalized).
      std::vector<int64_t> axes = axes_;
      for (int64_t i = 0; i < ndim; ++i) {
        int64_t a = axes[i];
        verify_attr_range(a, "transpose.axis", -ndim, ndim - 1);
        if (a < 0) {
          a += ndim;
          axes[i] = a;
        }
        for (int64_t j = 0; j < ndim; ++j) {
          CVM_VERIFY(i == j || a != axes[j]) << "repeated axis in transpose";
        }
        o[i] = d[a];
      }
    }
    out.assign(1, o);
  }

  KernelInfo kernel_info() const override {
    KernelInfo k;
    k.kind = KernelInfo::Kind::kTranspose;
    k.axes = axes_;
    return k;
  }

  // Output dim j walks input dim axes[j] (reversed order without axes).
  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    const Shape& xs = in[0].shape;
    const Shape& ys = out[0].shape;
    const size_t ndim = ys.size();
    const std::vector<int64_t> xst = strides_of(xs);
    const std::vector<int64_t> axes = transpose_axes(axes_, ndim);
    std::vector<int64_t> step(ndim);  // input stride of each output dim
    for (size_t j = 0; j < ndim; ++j) step[j] = xst[static_cast<size_t>(axes[j])];
    gather_strided(in[0].data, out[0].data, ys, 0, step);
  }

 private:
  std::vector<int64_t> axes_;
};

// ---------------------------------------------------------- strided_slice

class StridedSlice : public TransformOp {
 public:
  explicit StridedSlice(const NodeAttrs& attrs) : TransformOp(attrs) {
    AttrReader r(attrs.op_name, attrs.dict);
    begin_ = r.shape("begin", {0});
    end_ = r.shape("end", {1});
    stride_ = r.shape("stride", {});
    r.finish();
  }
  uint32_t num_inputs(uint32_t) const override { return 1; }

  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    const std::vector<AxisSlice> plan = strided_slice_axes(in[0], begin_, end_, stride_, true);
    Shape o(plan.size());
    for (size_t i = 0; i < plan.size(); ++i) o[i] = plan[i].size;
    out.assign(1, o);
  }

  KernelInfo kernel_info() const override {
    KernelInfo k;
    k.kind = KernelInfo::Kind::kStridedSlice;
    k.slice_begin = begin_;
    k.slice_end = end_;
    k.slice_stride = stride_;
    return k;
  }

  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    const Shape& xs = in[0].shape;
    const Shape& ys = out[0].shape;
    const std::vector<AxisSlice> plan = strided_slice_axes(xs, begin_, end_, stride_, false);
    const std::vector<int64_t> xst = strides_of(xs);
    int64_t base = 0;
    std::vector<int64_t> step(ys.size());
    for (size_t j = 0; j < ys.size(); ++j) {
      base += plan[j].begin * xst[j];
      step[j] = plan[j].stride * xst[j];
    }
    gather_strided(in[0].data, out[0].data, ys, base, step);
  }

 private:
  std::vector<int64_t> begin_, end_, stride_;
};

// ------------------------------------------------------------- slice_like

class SliceLike : public TransformOp {
 public:
  explicit SliceLike(const NodeAttrs& attrs) : TransformOp(attrs) {
    AttrReader r(attrs.op_name, attrs.dict);
    axis_ = r.int_tuple("axis", {});
    r.finish();
  }
  uint32_t num_inputs(uint32_t) const override { return 2; }

  // The output is the leading corner of the data with the like-input's
  // dims on the chosen axes (all shared axes by default).
  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    const Shape& src = in[0];
    const Shape& like = in[1];
    CVM_VERIFY(src.size() == like.size() || !axis_.empty())
        << "input X and shape_like must be of the same shape if no axis is given";
    Shape o = src;
    if (axis_.empty()) {
      for (size_t i = 0; i < src.size() && i < like.size(); ++i) {
        o[i] = like[i];
        CVM_VERIFY(o[i] <= src[i]) << "End index of axis " << i
                                   << " exceeds input shape: " << o[i] << " vs " << src[i];
      }
    } else {
      const int64_t common = static_cast<int64_t>(std::min(src.size(), like.size()));
      for (int a : axis_) {
        int64_t i = a < 0 ? a + static_cast<int64_t>(src.size()) : a;
        verify_attr_range(i, "slice_like.axis", 0, common - 1);
        o[i] = like[i];
        CVM_VERIFY(o[i] <= src[i]) << "End index of axis " << i
                                   << " exceeds input shape: " << o[i] << " vs " << src[i];
      }
    }
    out.assign(1, o);
  }


  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    // The leading corner: the data's own strides from its start.
    gather_strided(in[0].data, out[0].data, out[0].shape, 0, strides_of(in[0].shape));
  }

 private:
  std::vector<int> axis_;
};

// ------------------------------------------------------------------- take

// Index clamped into [0, n - 1].
int64_t clamp_index(int32_t v, int64_t n) {
  return std::min<int64_t>(std::max<int64_t>(v, 0), n - 1);
}

// y[i] = x[clamp(idx[i])] over the flattened x.
void take_flat(const Tensor& x, const Tensor& idx, const Tensor& y) {
  const int64_t n = x.size();
  const int64_t total = y.size();
  for (int64_t i = 0; i < total; ++i) y.data[i] = x.data[clamp_index(idx.data[i], n)];
}

class Take : public TransformOp {
 public:
  explicit Take(const NodeAttrs& attrs) : TransformOp(attrs) {
    AttrReader r(attrs.op_name, attrs.dict);
    axis_ = r.optional_integer("axis", std::nullopt);
    r.finish();
  }
  uint32_t num_inputs(uint32_t) const override { return 2; }

  // Without an axis: the indices' shape. With one: the data's shape with
  // that dim replaced by the indices' shape.
  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    const Shape& d = in[0];
    const Shape& idx = in[1];
    if (!axis_) {
      out.assign(1, idx);
      return;
    }
    const int64_t ndim = static_cast<int64_t>(d.size());
    verify_attr_range(*axis_, "take.axis", -ndim, ndim - 1);
    const int64_t axis = *axis_ < 0 ? *axis_ + ndim : *axis_;
    Shape o(d.begin(), d.begin() + axis);
    o.insert(o.end(), idx.begin(), idx.end());
    o.insert(o.end(), d.begin() + axis + 1, d.end());
    out.assign(1, o);
  }


  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    if (!axis_) {
      take_flat(in[0], in[1], out[0]);
      return;
    }
    const Shape& xs = in[0].shape;
    const int64_t ndim = static_cast<int64_t>(xs.size());
    const int64_t axis = *axis_ < 0 ? *axis_ + ndim : *axis_;
    int64_t outer = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= xs[i];
    int64_t inner = 1;
    for (int64_t i = axis + 1; i < ndim; ++i) inner *= xs[i];
    const int64_t n = xs[axis];
    const int64_t count = in[1].size();
    const int32_t* x = in[0].data;
    const int32_t* idx = in[1].data;
    int32_t* y = out[0].data;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t k = 0; k < count; ++k) {
        const int32_t* src = x + (o * n + clamp_index(idx[k], n)) * inner;
        std::memcpy(y, src, static_cast<size_t>(inner) * sizeof(int32_t));
        y += inner;
      }
    }
  }

 private:
  std::optional<int> axis_;
};

// ---------------------------------------------------------------- cvm_lut

// Inputs: indices, table. y[i] = table[clamp(indices[i])] over the
// flattened table; the output has the table's precision.
class CvmLut : public TransformOp {
 public:
  explicit CvmLut(const NodeAttrs& attrs) : TransformOp(attrs) {
    AttrReader r(attrs.op_name, attrs.dict);
    in_dim_ = r.integer("in_dim");
    r.finish();
  }
  uint32_t num_inputs(uint32_t) const override { return 2; }

  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    CVM_VERIFY(shape_size(in[1]) == in_dim_)
        << "cvm_lut: table size " << shape_size(in[1]) << " differs from in_dim " << in_dim_;
    out.assign(1, in[0]);
  }

  void infer_precision(const std::vector<Shape>&, std::vector<int>& in,
                       std::vector<int>& out) const override {
    precision_of_input(in, out, 1);
  }

  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    take_flat(in[1], in[0], out[0]);
  }

 private:
  int in_dim_;
};

// ------------------------------------------------------------------ where

// Inputs: condition, x, y. Non-zero picks x. A condition of x's shape picks
// per element; a 1-D condition over x's first dim picks whole rows.
class Where : public TransformOp {
 public:
  explicit Where(const NodeAttrs& attrs) : TransformOp(attrs) { expect_no_attrs(attrs); }
  uint32_t num_inputs(uint32_t) const override { return 3; }

  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    const Shape& cond = in[0];
    const Shape& x = in[1];
    const Shape& y = in[2];
    CVM_VERIFY(x == y) << "x and y must have the same shape: " << shape_string(x)
                       << " vs " << shape_string(y);
    if (cond != x) {
      CVM_VERIFY(cond.size() == 1) << "Shape of condition " << shape_string(cond)
                                   << " must be either equal to x or has dimension of 1.";
      CVM_VERIFY(cond[0] == x[0])
          << "If dim of condition is 1, " << shape_string(cond)
          << " must be the same as the first dimension of input shape.";
    }
    out.assign(1, x);
  }

  // The reference gives the output the condition's precision.

  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    const Tensor& cond = in[0];
    const int32_t* x = in[1].data;
    const int32_t* y = in[2].data;
    int32_t* res = out[0].data;
    if (cond.shape.size() == in[1].shape.size()) {
      const int64_t total = out[0].size();
      for (int64_t i = 0; i < total; ++i) res[i] = cond.data[i] != 0 ? x[i] : y[i];
      return;
    }
    // Row mode. The reference copies only `row` BYTES of each row of `row`
    // int32 values (a length bug) and leaves the rest of the row as the
    // buffer held it, which is uninitialized memory there. We reproduce
    // the copied bytes and zero the rest, so the result is deterministic
    // and equals the reference's on a zeroed buffer. The bytes are those of
    // the reference's little-endian host: the first row / 4 values whole,
    // then the low row % 4 bytes of the next value, whatever our host's order.
    const int64_t rows = out[0].shape[0];
    const int64_t row = out[0].size() / rows;
    const int64_t whole = row / 4;
    const int partial_bytes = static_cast<int>(row % 4);
    const uint32_t partial_mask = (uint32_t(1) << (8 * partial_bytes)) - 1;
    for (int64_t r = 0; r < rows; ++r) {
      const int32_t* src = (cond.data[r] != 0 ? x : y) + r * row;
      int32_t* dst = res + r * row;
      int64_t i = 0;
      for (; i < whole; ++i) dst[i] = src[i];
      if (partial_bytes > 0) {
        dst[i] = static_cast<int32_t>(static_cast<uint32_t>(src[i]) & partial_mask);
        ++i;
      }
      for (; i < row; ++i) dst[i] = 0;
    }
  }
};

template <typename T>
void add(OpRegistry& registry, const char* name) {
  registry.add(name, [](const NodeAttrs& attrs) -> std::unique_ptr<Operator> {
    return std::make_unique<T>(attrs);
  });
}

}  // namespace

// Per axis of `d`: missing begin/end/stride entries are 0, d[i] and 1;
// negative begin/end count from the end; both are clamped to [0, d] (to
// [-1, d-1] for a negative stride).
std::vector<AxisSlice> strided_slice_axes(const Shape& d, const std::vector<int64_t>& begin,
                                          const std::vector<int64_t>& end,
                                          const std::vector<int64_t>& stride_attr, bool check) {
  const size_t ndim = d.size();
  std::vector<AxisSlice> plan(ndim);
  for (size_t i = 0; i < ndim; ++i) {
    const int64_t stride = i < stride_attr.size() ? stride_attr[i] : 1;
    if (check) {
      CVM_VERIFY(stride != 0) << "strided_slice: stride is 0 on axis " << i;
    }
    const int64_t lo = stride < 0 ? -1 : 0;
    const int64_t hi = stride < 0 ? d[i] - 1 : d[i];
    int64_t b = i < begin.size() ? begin[i] : 0;
    if (b < 0) b += d[i];
    b = std::min(std::max(b, lo), hi);
    plan[i].begin = b;
    plan[i].stride = stride;
    if (!check) continue;
    int64_t e = i < end.size() ? end[i] : d[i];
    if (e < 0) e += d[i];
    e = std::min(std::max(e, lo), hi);
    // ceil(|e - b| / |stride|), with the reference's int64 wraparound
    // for a stride of INT64_MIN.
    const uint64_t interval = static_cast<uint64_t>(e > b ? e - b : b - e);
    const uint64_t mag = stride < 0 ? 0 - static_cast<uint64_t>(stride)
                                    : static_cast<uint64_t>(stride);
    // mag <= 2^63, so den is positive or INT64_MIN: no overflowing division.
    const int64_t num = static_cast<int64_t>(interval + mag - 1);
    const int64_t den = static_cast<int64_t>(mag);
    plan[i].size = low32(num / den);
    CVM_VERIFY(stride < 0 ? e < b : b < e)
        << ": Input [Begin=" << (i < begin.size() ? begin[i] : 0)
        << ", End=" << (i < end.size() ? end[i] : d[i]) << "] is invalid for axis=" << i;
  }
  return plan;
}

std::vector<int64_t> transpose_axes(const std::vector<int64_t>& axes, size_t ndim) {
  if (!axes.empty() && axes.size() != ndim) return {};
  std::vector<int64_t> out(ndim);
  for (size_t j = 0; j < ndim; ++j) {
    int64_t a = axes.empty() ? static_cast<int64_t>(ndim - 1 - j) : axes[j];
    if (a < 0) a += static_cast<int64_t>(ndim);
    out[j] = a;
  }
  return out;
}

void register_transform_ops(OpRegistry& registry) {
  add<Flatten>(registry, "flatten");
  add<Concatenate>(registry, "concatenate");
  add<ExpandDims>(registry, "expand_dims");
  add<Repeat>(registry, "repeat");
  add<Tile>(registry, "tile");
  add<Reshape>(registry, "reshape");
  add<Squeeze>(registry, "squeeze");
  add<Transpose>(registry, "transpose");
  add<StridedSlice>(registry, "strided_slice");
  add<SliceLike>(registry, "slice_like");
  add<Take>(registry, "take");
  add<CvmLut>(registry, "cvm_lut");
  add<Where>(registry, "where");
}

}  // namespace cvm
