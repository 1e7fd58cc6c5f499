// Detection operators: get_valid_counts and non_max_suppression.
//
// Both work on boxes stored as rows of a (batch, num_anchors, k) tensor; a
// row is [class_id, score, x_min, y_min, x_max, y_max, ...]. Invalid rows are
// written as all -1.
//
// The kernels reproduce the reference's deployed CPU kernels write for write,
// including their side effects, because graphs may make the memories meet:
// the two outputs of get_valid_counts may share one storage (their storage
// ids are only checked against the inputs), and then both inputs of a
// non_max_suppression fed by it share one storage too.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "ops/op.h"

namespace cvm {
namespace {

// Fills `rows` rows of `k` values with -1.
void fill_invalid(int32_t* dst, int64_t rows, int64_t k) {
  std::fill(dst, dst + rows * k, -1);
}

// ---------------------------------------------------------------------------
// get_valid_counts(data) -> (valid_count, compacted)
//
// Per batch: every row whose score (index 1) is strictly greater than
// score_threshold is copied, in order, to the top of the output; the count of
// such rows goes to valid_count; the remaining rows are -1.
class GetValidCounts final : public Operator {
 public:
  explicit GetValidCounts(const NodeAttrs& attrs) {
    AttrReader reader(attrs.op_name, attrs.dict);
    score_threshold_ = reader.integer("score_threshold", 0);
    reader.finish();
  }

  uint32_t num_inputs(uint32_t) const override { return 1; }
  uint32_t num_outputs() const override { return 2; }

  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    const Shape& data = in[0];
    CVM_VERIFY(data.size() == 3)
        << "get_valid_counts: data should be 3-D, got " << shape_string(data);
    CVM_VERIFY(data[2] < 32 && data[2] >= 2)
        << "get_valid_counts: row length should lie in [2, 32), got " << data[2];
    out.assign({Shape{data[0]}, data});
  }

  void infer_precision(const std::vector<Shape>& shapes, std::vector<int>& in,
                       std::vector<int>& out) const override {
    check_inputs_inferred(in);
    // The count is bounded by the size of one batch of the input; the
    // reference sizes it by the whole batch (anchors * row length).
    const Shape& data = shapes[0];
    int64_t per_batch = shape_size(data) / data[0];
    out[0] = number_precision(per_batch);
    out[1] = in[0];
  }

  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace&) const override {
    const Tensor& data = in[0];
    const int64_t batches = data.shape[0];
    const int64_t n = data.shape[1];
    const int64_t k = data.shape[2];
    int32_t* counts = out[0].data;
    int32_t* result = out[1].data;
    // The outputs may be one memory: keep the reference's order of writes
    // (rows of a batch, then its count, then its -1 tail).
    for (int64_t b = 0; b < batches; ++b) {
      const int32_t* src = data.data + b * n * k;
      int32_t* dst = result + b * n * k;
      int64_t kept = 0;
      for (int64_t j = 0; j < n; ++j) {
        const int32_t* row = src + j * k;
        if (row[1] > score_threshold_) {
          std::copy(row, row + k, dst + kept * k);
          ++kept;
        }
      }
      counts[b] = static_cast<int32_t>(kept);
      fill_invalid(dst + kept * k, n - kept, k);
    }
  }

 private:
  static void check_inputs_inferred(const std::vector<int>& in) {
    for (size_t i = 0; i < in.size(); ++i) {
      CVM_VERIFY(in[i] != -1) << "get_valid_counts: input " << i
                              << " has no inferred precision";
    }
  }
  // Bits of a signed integer that holds any value in [-n, n].
  static int number_precision(int64_t n) {
    int bits = 0;
    for (uint64_t v = static_cast<uint64_t>(n) + 1; v != 0; v >>= 1) ++bits;
    return bits + 1;
  }

  int score_threshold_ = 0;
};

// ---------------------------------------------------------------------------
// non_max_suppression(data, valid_count) -> boxes
//
// Integer percentage IoU of two corner-format boxes [x_min, y_min, x_max,
// y_max], as the reference computes it: coordinate differences in int32 (they
// wrap), areas in int64, result = overlap * 100 / union rounded toward zero,
// or 0 when either the area sum or the union is not positive.
int64_t box_iou_percent(const int32_t* a, const int32_t* b) {
  auto diff = [](int32_t hi, int32_t lo) {
    return static_cast<int32_t>(static_cast<uint32_t>(hi) - static_cast<uint32_t>(lo));
  };
  const int64_t area_a = static_cast<int64_t>(diff(a[2], a[0])) * diff(a[3], a[1]);
  const int64_t area_b = static_cast<int64_t>(diff(b[2], b[0])) * diff(b[3], b[1]);
  // Each area lies in (-2^62, 2^62]: only their sum can leave int64 (it
  // wraps then, as the reference's addition does).
  const int64_t area_sum = static_cast<int64_t>(static_cast<uint64_t>(area_a) +
                                                static_cast<uint64_t>(area_b));
  if (area_sum <= 0) return 0;
  const int32_t w = std::max(0, diff(std::min(a[2], b[2]), std::max(a[0], b[0])));
  const int32_t h = std::max(0, diff(std::min(a[3], b[3]), std::max(a[1], b[1])));
  int64_t overlap = static_cast<int64_t>(h) * w;  // in [0, 2^62)
  int64_t union_area = area_sum - overlap;        // no overflow: both >= 0
  if (union_area <= 0) return 0;
  if (overlap > INT64_MAX / 100) {
    union_area /= 100;
    // The reference divides by zero here (it would die); only reachable with
    // coordinates spanning more than 2^29 and wrapped areas.
    CVM_VERIFY(union_area != 0) << "non_max_suppression: integer division by zero in IoU";
  } else {
    overlap *= 100;
  }
  return overlap / union_area;
}

class NonMaxSuppression final : public Operator {
 public:
  explicit NonMaxSuppression(const NodeAttrs& attrs) {
    AttrReader reader(attrs.op_name, attrs.dict);
    max_output_size_ = reader.integer("max_output_size", -1);
    iou_threshold_ = reader.integer("iou_threshold", 50);
    force_suppress_ = reader.boolean("force_suppress", false);
    top_k_ = reader.integer("top_k", -1);
    coord_start_ = reader.integer("coord_start", 2);
    score_index_ = reader.integer("score_index", 1);
    id_index_ = reader.integer("id_index", 0);
    return_indices_ = reader.boolean("return_indices", false);
    invalid_to_bottom_ = reader.boolean("invalid_to_bottom", true);
    reader.finish();
  }

  uint32_t num_inputs(uint32_t) const override { return 2; }

  void infer_shape(std::vector<Shape>& in, std::vector<Shape>& out) const override {
    const Shape& data = in[0];
    const Shape& count = in[1];
    CVM_VERIFY(data.size() == 3) << "non_max_suppression: data should be 3-D";
    CVM_VERIFY(count.size() == 1) << "non_max_suppression: valid count should be 1-D";
    CVM_VERIFY(data[2] == 6)
        << "non_max_suppression: data should have shape (batch, anchors, 6)";
    CVM_VERIFY(data[0] == count[0]) << "non_max_suppression: batch size mismatch";
    // Only the reference's fixed row layout and modes are accepted.
    CVM_VERIFY(coord_start_ == 2) << "non_max_suppression: coord_start must be 2";
    CVM_VERIFY(score_index_ == 1) << "non_max_suppression: score_index must be 1";
    CVM_VERIFY(id_index_ == 0) << "non_max_suppression: id_index must be 0";
    CVM_VERIFY(iou_threshold_ > 0) << "non_max_suppression: iou_threshold must be positive";
    CVM_VERIFY(!return_indices_) << "non_max_suppression: return_indices must be false";
    CVM_VERIFY(invalid_to_bottom_) << "non_max_suppression: invalid_to_bottom must be true";
    out.assign({data});
  }

  void infer_precision(const std::vector<Shape>&, std::vector<int>& in,
                       std::vector<int>& out) const override {
    for (size_t i = 0; i < in.size(); ++i) {
      CVM_VERIFY(in[i] != -1) << "non_max_suppression: input " << i
                              << " has no inferred precision";
    }
    out[0] = in[0];
  }

  int64_t gas_per_output(const std::vector<Shape>& in,
                         const std::vector<Shape>&) const override {
    return in[0][0] * 20;
  }

  // Per batch b, with vc = valid_count[b] clamped to [0, anchors]:
  //  - vc == 0: the batch's output is all -1 and the kernel STOPS: later
  //    batches of the output are left as they were (the reference returns).
  //  - the first vc rows are ordered by score, descending, ties keeping
  //    their order; with 0 < top_k < vc the rows past the top_k first are
  //    overwritten with -1 IN THE INPUT (the reference does so; consumers of
  //    that tensor after this node see it). Only the first `keep` rows take
  //    part (keep = top_k when 0 <= top_k < vc, else vc).
  //  - greedy pass over the kept rows in that order: a row not suppressed and
  //    with class id >= 0 is appended to the output; a row not suppressed
  //    (whatever its id) suppresses the rows after it, scanning them in order
  //    and stopping at the first row whose id is negative, when the ids match
  //    (or force_suppress) and their IoU >= iou_threshold.
  //  - the rest of the output is -1; with max_output_size > 0, valid rows
  //    past the first max_output_size are overwritten with -1.
  void run(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
           Workspace& workspace) const override {
    int32_t* data = in[0].data;
    const int32_t* valid_count = in[1].data;  // may be `data`'s memory
    int32_t* result = out[0].data;
    const int64_t batches = in[0].shape[0];
    const int32_t n = static_cast<int32_t>(in[0].shape[1]);
    const int64_t k = in[0].shape[2];
    constexpr int kId = 0, kScore = 1, kCoord = 2;

    // Scratch: the sorted row order, then one "suppressed" flag per row.
    int32_t* order = workspace.get(2 * static_cast<int64_t>(n));
    int32_t* suppressed = order + n;

    for (int64_t b = 0; b < batches; ++b) {
      // Read now: writes to `data` for earlier batches may have changed it.
      const int32_t vc = std::max(std::min(valid_count[b], n), 0);
      int32_t* rows = data + b * n * k;
      int32_t* dst = result + b * n * k;
      if (vc == 0) {
        fill_invalid(dst, n, k);
        return;
      }
      auto row = [&](int32_t i) { return rows + static_cast<int64_t>(order[i]) * k; };

      for (int32_t i = 0; i < vc; ++i) order[i] = i;
      std::stable_sort(order, order + vc, [&](int32_t x, int32_t y) {
        return rows[x * k + kScore] > rows[y * k + kScore];
      });
      if (top_k_ > 0 && top_k_ < vc) {
        for (int32_t i = top_k_; i < vc; ++i) fill_invalid(row(i), 1, k);
      }
      const int32_t keep = (top_k_ >= 0 && top_k_ < vc) ? top_k_ : vc;
      std::fill(suppressed, suppressed + keep, 0);

      int64_t written = 0;
      for (int32_t i = 0; i < keep; ++i) {
        if (suppressed[i]) continue;
        const int32_t* first = row(i);
        if (first[kId] >= 0) {
          std::copy(first, first + k, dst + written * k);
          ++written;
        }
        for (int32_t j = i + 1; j < keep; ++j) {
          const int32_t* second = row(j);
          if (second[kId] < 0) break;
          if (force_suppress_ || first[kId] == second[kId]) {
            if (box_iou_percent(first + kCoord, second + kCoord) >= iou_threshold_) {
              suppressed[j] = 1;
            }
          }
        }
      }
      fill_invalid(dst + written * k, n - written, k);

      if (max_output_size_ > 0) {
        int32_t seen = 0;
        for (int32_t i = 0; i < vc; ++i) {
          int32_t* r = dst + static_cast<int64_t>(i) * k;
          if (r[kId] < 0) continue;
          if (seen == max_output_size_) {
            fill_invalid(r, 1, k);
          } else {
            ++seen;
          }
        }
      }
    }
  }

 private:
  int max_output_size_ = -1;
  int iou_threshold_ = 50;
  bool force_suppress_ = false;
  int top_k_ = -1;
  int coord_start_ = 2;
  int score_index_ = 1;
  int id_index_ = 0;
  bool return_indices_ = false;
  bool invalid_to_bottom_ = true;
};

template <typename Op>
OperatorFactory factory() {
  return [](const NodeAttrs& attrs) -> std::unique_ptr<Operator> {
    return std::make_unique<Op>(attrs);
  };
}

}  // namespace

void register_vision_ops(OpRegistry& registry) {
  registry.add("get_valid_counts", factory<GetValidCounts>());
  registry.add("non_max_suppression", factory<NonMaxSuppression>());
  add_kernel_less_alias(registry, "non_max_suppression", "vision.non_max_suppression");
}

}  // namespace cvm
