// Copies whose output is a strided view of the input: transpose,
// strided_slice and the flat copies (reshape, flatten, squeeze,
// expand_dims). The view is simplified once (dims of size 1 dropped, dims
// that walk the input contiguously merged), then copied as rows (the last
// dim: runs of memcpy when its step is 1) or, when the input's contiguous
// dim is not the output's last, as square tiles of a 2-D transpose. Rows
// and tiles are split over threads. Int8 values are copied as int8 when
// the input or output is a byte activation. The output shares storage with
// no input.
#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "runtime/plan/step_support.h"
#include "runtime/plan/steps.h"

namespace cvm {
namespace planning {
namespace {

constexpr int64_t kPiece = 1 << 14;  // values of a row copied as one item at most
constexpr int64_t kTile = 32;        // side of a transposed tile

// One dim of the copy: its size, and the step per index in the input and
// in the output.
struct Dim {
  int64_t size, in_step, out_step;
};

// Walks the multi-index of some dims in row-major order, keeping the input
// and output offsets of the current index.
class Odometer {
 public:
  Odometer(const std::vector<Dim>& dims, int64_t start) : dims_(dims), idx_(dims.size()) {
    for (size_t j = dims_.size(); j-- > 0;) {
      idx_[j] = start % dims_[j].size;
      start /= dims_[j].size;
      in += idx_[j] * dims_[j].in_step;
      out += idx_[j] * dims_[j].out_step;
    }
  }
  void next() {
    for (size_t j = dims_.size(); j-- > 0;) {
      in += dims_[j].in_step;
      out += dims_[j].out_step;
      if (++idx_[j] < dims_[j].size) return;
      in -= dims_[j].size * dims_[j].in_step;
      out -= dims_[j].size * dims_[j].out_step;
      idx_[j] = 0;
    }
  }
  int64_t in = 0, out = 0;

 private:
  const std::vector<Dim>& dims_;
  std::vector<int64_t> idx_;
};

template <typename Src, typename Dst>
void copy_row(const Src* x, int64_t step, int64_t n, Dst* y) {
  if (step == 1 && sizeof(Src) == sizeof(Dst)) {
    std::memcpy(y, x, static_cast<size_t>(n) * sizeof(Dst));
  } else if (step == 1) {
    for (int64_t k = 0; k < n; ++k) y[k] = static_cast<Dst>(x[k]);
  } else {
    for (int64_t k = 0; k < n; ++k) y[k] = static_cast<Dst>(x[k * step]);
  }
}

class StridedCopyStep : public NodeStep, public ByteIO {
 public:
  // Rows: `a` is the output's last dim, `outer` the others. Tiles: `a` is
  // the dim the input walks contiguously, `b` the output's last dim,
  // `outer` the others.
  StridedCopyStep(uint32_t nid, const char* kind, int64_t x, int64_t y, int64_t base,
                  std::vector<Dim> outer, Dim a, bool tiles, Dim b, int64_t total)
      : NodeStep(nid), kind_(kind), x_(x), y_(y), base_(base), outer_(std::move(outer)), a_(a),
        tiles_(tiles), b_(b), total_(total) {
    for (const Dim& d : outer_) outer_count_ *= d.size;
    // Tiles: strips of kTile along the longer of the two dims.
    strip_a_ = a_.size >= b_.size;
    per_outer_ = tiles_ ? ceil_div(strip_a_ ? a_.size : b_.size, kTile) : ceil_div(a_.size, kPiece);
  }
  ByteIO* byte_io() override { return this; }
  const char* kind() const override { return kind_; }
  std::vector<int64_t> data_eids() const override { return {x_}; }
  bool takes_bytes() const override { return true; }
  bool data_in_place() const override { return false; }  // never shares storage
  void use_bytes(const std::set<int64_t>& bytes) override {
    x_bytes_ = bytes.count(x_) > 0;
    y_bytes_ = bytes.count(y_) > 0;
  }

  void run(ExecContext& ctx) const override {
    int32_t* x = ctx.data(x_);
    int32_t* y = ctx.data(y_);
    auto* x8 = reinterpret_cast<const int8_t*>(x);
    auto* y8 = reinterpret_cast<int8_t*>(y);
    // Byte activations: an int8 output has int8 values only.
    if (x_bytes_ && y_bytes_) {
      copy(ctx, x8, y8);
    } else if (x_bytes_) {
      copy(ctx, x8, y);
    } else if (y_bytes_) {
      copy(ctx, static_cast<const int32_t*>(x), y8);
    } else {
      copy(ctx, static_cast<const int32_t*>(x), y);
    }
  }

 private:
  template <typename Src, typename Dst>
  void copy(const ExecContext& ctx, const Src* x, Dst* y) const {
    if (total_ == 0) return;
    x += base_;
    // Bytes read and written: a copy is bound by memory, not operations.
    const double work = static_cast<double>(total_) * static_cast<double>(sizeof(Src) + sizeof(Dst));
    const int64_t items = outer_count_ * per_outer_;
    parallel(ctx, items, threads_for(ctx, work), [&](int64_t b, int64_t e, int) {
      int64_t part = b % per_outer_;
      Odometer at(outer_, b / per_outer_);
      for (int64_t i = b; i < e; ++i) {
        if (tiles_) {
          strip(x + at.in, y + at.out, part * kTile);
        } else {
          const int64_t from = part * kPiece, n = std::min(kPiece, a_.size - from);
          copy_row(x + at.in + from * a_.in_step, a_.in_step, n, y + at.out + from);
        }
        if (++part == per_outer_) {
          part = 0;
          at.next();
        }
      }
    });
  }

  // The tiles of one strip (kTile indices from `from` along a or b).
  template <typename Src, typename Dst>
  void strip(const Src* x, Dst* y, int64_t from) const {
    const int64_t a_lo = strip_a_ ? from : 0, b_lo = strip_a_ ? 0 : from;
    const int64_t a_hi = strip_a_ ? std::min(from + kTile, a_.size) : a_.size;
    const int64_t b_hi = strip_a_ ? b_.size : std::min(from + kTile, b_.size);
    for (int64_t a0 = a_lo; a0 < a_hi; a0 += kTile) {
      const int64_t a1 = std::min(a0 + kTile, a_hi);
      for (int64_t b0 = b_lo; b0 < b_hi; b0 += kTile) {
        const int64_t nb = std::min(kTile, b_hi - b0);
        for (int64_t i = a0; i < a1; ++i) {
          const Src* src = x + i * a_.in_step + b0 * b_.in_step;
          Dst* dst = y + i * a_.out_step + b0;  // b's output step is 1
          for (int64_t k = 0; k < nb; ++k) dst[k] = static_cast<Dst>(src[k * b_.in_step]);
        }
      }
    }
  }

  const char* kind_;
  int64_t x_, y_, base_;
  std::vector<Dim> outer_;
  Dim a_;
  bool tiles_;
  Dim b_;
  int64_t total_;
  int64_t outer_count_ = 1, per_outer_ = 1;
  bool strip_a_ = false;
  bool x_bytes_ = false, y_bytes_ = false;
};

// a * b when it fits int64.
bool mul_fits(int64_t a, int64_t b, int64_t* out) { return !__builtin_mul_overflow(a, b, out); }

}  // namespace

std::unique_ptr<Step> make_strided_copy_step(uint32_t nid, const char* kind, int64_t x, int64_t y,
                                             const StridedView& view, int64_t x_size) {
  const size_t ndim = view.dims.size();
  if (view.steps.size() != ndim) return nullptr;
  // Every index of the view must lie within the input: its lowest and
  // highest offsets, without overflow.
  int64_t lo = view.base, hi = view.base, total = 1;
  for (size_t j = 0; j < ndim; ++j) {
    int64_t reach = 0;
    if (view.dims[j] < 0 || !mul_fits(total, view.dims[j], &total)) return nullptr;
    if (view.dims[j] == 0) continue;
    if (!mul_fits(view.dims[j] - 1, view.steps[j], &reach)) return nullptr;
    if (__builtin_add_overflow(reach < 0 ? lo : hi, reach, reach < 0 ? &lo : &hi)) return nullptr;
  }
  if (total > 0 && (lo < 0 || hi >= x_size)) return nullptr;
  // The dims that matter, in order, with their output steps; runs of dims
  // that walk the input as one merged.
  std::vector<Dim> dims;
  for (size_t j = ndim; j-- > 0;) {
    const int64_t n = view.dims[j], s = view.steps[j];
    int64_t span = 0;
    if (n == 1) continue;
    if (!dims.empty() && mul_fits(dims.front().in_step, dims.front().size, &span) && span == s) {
      dims.front().size *= n;  // within total
    } else {
      dims.insert(dims.begin(), Dim{n, s, 0});
    }
  }
  int64_t out_step = 1;
  for (size_t j = dims.size(); j-- > 0;) {
    dims[j].out_step = out_step;
    out_step *= dims[j].size;
  }
  Dim last{1, 1, 1};
  if (!dims.empty()) {
    last = dims.back();
    dims.pop_back();
  }
  // A transpose of the last dims: the input's contiguous dim is an earlier
  // output dim, and both are long enough for tiles to pay.
  auto contiguous =
      std::find_if(dims.begin(), dims.end(), [](const Dim& d) { return d.in_step == 1; });
  if (last.in_step != 1 && contiguous != dims.end() && contiguous->size >= 4 && last.size >= 4) {
    const Dim a = *contiguous;
    dims.erase(contiguous);
    return std::make_unique<StridedCopyStep>(nid, kind, x, y, view.base, std::move(dims), a,
                                             true, last, total);
  }
  return std::make_unique<StridedCopyStep>(nid, kind, x, y, view.base, std::move(dims), last,
                                           false, Dim{1, 1, 1}, total);
}

}  // namespace planning
}  // namespace cvm
