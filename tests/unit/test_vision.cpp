// Detection operators: get_valid_counts and non_max_suppression. Expected
// values below were worked out by hand from the reference CPU kernels' rules.
#include <catch2/catch.hpp>

#include "op_test_util.h"

#include <climits>
#include <memory>
#include <vector>

#include "ops/op.h"

namespace {

using cvm::test::error_code;
using cvm::test::make_op;

using cvm::AttrDict;
using cvm::Shape;
using cvm::Tensor;

using Rows = std::vector<std::vector<int32_t>>;
std::vector<int32_t> flat(const Rows& rows) {
  std::vector<int32_t> out;
  for (const auto& r : rows) out.insert(out.end(), r.begin(), r.end());
  return out;
}
const std::vector<int32_t> kNone6 = {-1, -1, -1, -1, -1, -1};

// Runs non_max_suppression on one batch of rows of 6.
std::vector<int32_t> run_nms(const AttrDict& dict, std::vector<int32_t>& data,
                             std::vector<int32_t> counts, int64_t n) {
  auto op = make_op("non_max_suppression", dict);
  int64_t batches = static_cast<int64_t>(counts.size());
  std::vector<Shape> in = {{batches, n, 6}, {batches}}, out;
  op->infer_shape(in, out);
  REQUIRE(out.size() == 1);
  REQUIRE(out[0] == Shape({batches, n, 6}));
  std::vector<int32_t> result(data.size(), 7);
  cvm::Workspace ws;
  op->run({Tensor{data.data(), in[0]}, Tensor{counts.data(), in[1]}},
          {Tensor{result.data(), out[0]}}, ws);
  return result;
}

// The five boxes of the main hand-worked example (id, score, x0, y0, x1, y1).
// Sorted by score: r1 (90), r2 (70), r3 (70, after r2: ties keep order),
// r0 (50), r4 (10). IoU(r1, r0) = 9*10*100/110 = 81, IoU(r2, r4) =
// 50*100/100 = 50, IoU(r1, r4) = 45*100/105 = 42, r3 disjoint from all.
const Rows kBoxes = {
    {0, 50, 0, 0, 10, 10},   // r0
    {0, 90, 1, 0, 11, 10},   // r1
    {1, 70, 0, 0, 10, 10},   // r2
    {0, 70, 20, 20, 30, 30}, // r3
    {1, 10, 0, 0, 10, 5},    // r4
};

}  // namespace

TEST_CASE("get_valid_counts compacts rows above the threshold", "[vision]") {
  auto op = make_op("get_valid_counts", {{"score_threshold", "5"}});
  REQUIRE(op->num_inputs(1) == 1);
  REQUIRE(op->num_outputs() == 2);
  std::vector<Shape> in = {{2, 3, 3}}, out;
  op->infer_shape(in, out);
  REQUIRE(out == std::vector<Shape>{{2}, {2, 3, 3}});

  std::vector<int32_t> x = {
      1, 5, 11,   2, 6, 12,   3, 9, 13,       // batch 0: rows 1, 2 kept (5 is not > 5)
      4, -9, 14,  5, INT_MIN, 15, 6, 0, 16};  // batch 1: none kept
  std::vector<int32_t> counts(2, 99), y(18, 99);
  cvm::Workspace ws;
  op->run({Tensor{x.data(), in[0]}}, {Tensor{counts.data(), out[0]}, Tensor{y.data(), out[1]}},
          ws);
  CHECK(counts == std::vector<int32_t>{2, 0});
  CHECK(y == std::vector<int32_t>{2, 6, 12, 3, 9, 13, -1, -1, -1,
                                  -1, -1, -1, -1, -1, -1, -1, -1, -1});
}

TEST_CASE("get_valid_counts default threshold is 0 and extremes compare signed",
          "[vision]") {
  auto op = make_op("get_valid_counts");
  std::vector<Shape> in = {{1, 4, 2}}, out;
  op->infer_shape(in, out);
  std::vector<int32_t> x = {7, 0, 8, INT_MAX, 9, 1, 10, INT_MIN};
  std::vector<int32_t> counts(1), y(8);
  cvm::Workspace ws;
  op->run({Tensor{x.data(), in[0]}}, {Tensor{counts.data(), out[0]}, Tensor{y.data(), out[1]}},
          ws);
  CHECK(counts[0] == 2);
  CHECK(y == std::vector<int32_t>{8, INT_MAX, 9, 1, -1, -1, -1, -1});

  auto low = make_op("get_valid_counts", {{"score_threshold", "-2147483648"}});
  low->infer_shape(in, out);
  low->run({Tensor{x.data(), in[0]}}, {Tensor{counts.data(), out[0]}, Tensor{y.data(), out[1]}},
           ws);
  CHECK(counts[0] == 3);
  CHECK(y == std::vector<int32_t>{7, 0, 8, INT_MAX, 9, 1, -1, -1});
}

TEST_CASE("get_valid_counts with both outputs in one memory", "[vision]") {
  // The reference writes, per batch: rows, then the count, then the -1 tail.
  auto op = make_op("get_valid_counts", {{"score_threshold", "5"}});
  std::vector<Shape> in = {{2, 2, 2}}, out;
  op->infer_shape(in, out);
  std::vector<int32_t> x = {3, 9, 4, 1, 5, 8, 6, 7};
  std::vector<int32_t> shared(8, 99);
  cvm::Workspace ws;
  op->run({Tensor{x.data(), in[0]}},
          {Tensor{shared.data(), out[0]}, Tensor{shared.data(), out[1]}}, ws);
  // batch 0: [3,9] copied, count 1 over shared[0], tail [2..3] = -1.
  // batch 1: [5,8],[6,7] copied to [4..7], count 2 over shared[1].
  CHECK(shared == std::vector<int32_t>{1, 2, -1, -1, 5, 8, 6, 7});
}

TEST_CASE("get_valid_counts shape, precision and attribute rules", "[vision]") {
  auto op = make_op("get_valid_counts");
  std::vector<Shape> out;
  std::vector<Shape> two_d = {{2, 6}};
  CHECK(error_code([&] { op->infer_shape(two_d, out); }) == 1);
  std::vector<Shape> k1 = {{1, 4, 1}}, k32 = {{1, 4, 32}}, k31 = {{1, 4, 31}};
  CHECK(error_code([&] { op->infer_shape(k1, out); }) == 1);
  CHECK(error_code([&] { op->infer_shape(k32, out); }) == 1);
  CHECK(error_code([&] { op->infer_shape(k31, out); }) == 0);

  // Count precision from one batch's element count n*k: 60 -> 7, 144 -> 9.
  std::vector<int> iprec = {16}, oprec = {-1, -1};
  op->infer_precision({{1, 10, 6}, {1}, {1, 10, 6}}, iprec, oprec);
  CHECK(oprec == std::vector<int>{7, 16});
  iprec = {32};
  oprec = {-1, -1};
  op->infer_precision({{2, 24, 6}, {2}, {2, 24, 6}}, iprec, oprec);
  CHECK(oprec == std::vector<int>{9, 32});
  iprec = {-1};
  CHECK(error_code([&] { op->infer_precision({{1, 10, 6}}, iprec, oprec); }) == 1);

  CHECK(op->gas_per_output({{2, 24, 6}}, {{2}, {2, 24, 6}}) == 1);
  CHECK_FALSE(op->in_place_allowed());

  CHECK(error_code([] { make_op("get_valid_counts", {{"threshold", "1"}}); }) == 2);
  CHECK(error_code([] { make_op("get_valid_counts", {{"score_threshold", "x"}}); }) == 2);
  CHECK(error_code([] { make_op("get_valid_counts", {{"score_threshold", "1.5"}}); }) == 2);
}

TEST_CASE("non_max_suppression hand-worked example", "[vision]") {
  std::vector<int32_t> data = flat(kBoxes);
  const std::vector<int32_t> original = data;
  // r1 kept and suppresses r0 (81); r2 kept (other class) and suppresses r4
  // (50 >= 50); r3 kept; ties r2/r3 keep their input order.
  auto y = run_nms({}, data, {5}, 5);
  CHECK(y == flat({kBoxes[1], kBoxes[2], kBoxes[3], kNone6, kNone6}));
  CHECK(data == original);

  data = original;
  y = run_nms({{"iou_threshold", "51"}}, data, {5}, 5);
  CHECK(y == flat({kBoxes[1], kBoxes[2], kBoxes[3], kBoxes[4], kNone6}));

  data = original;
  y = run_nms({{"iou_threshold", "82"}}, data, {5}, 5);
  CHECK(y == flat({kBoxes[1], kBoxes[2], kBoxes[3], kBoxes[0], kBoxes[4]}));
}

TEST_CASE("non_max_suppression force_suppress, max_output_size, top_k", "[vision]") {
  const std::vector<int32_t> original = flat(kBoxes);
  std::vector<int32_t> data = original;
  // Across classes: r1 suppresses r2 (81) and r0 (81), not r4 (42).
  auto y = run_nms({{"force_suppress", "True"}}, data, {5}, 5);
  CHECK(y == flat({kBoxes[1], kBoxes[3], kBoxes[4], kNone6, kNone6}));

  data = original;
  y = run_nms({{"max_output_size", "2"}}, data, {5}, 5);
  CHECK(y == flat({kBoxes[1], kBoxes[2], kNone6, kNone6, kNone6}));

  data = original;
  y = run_nms({{"max_output_size", "0"}}, data, {5}, 5);
  CHECK(y == flat({kBoxes[1], kBoxes[2], kBoxes[3], kNone6, kNone6}));

  // top_k = 2: only r1, r2 take part; the other sorted rows (r3, r0, r4) are
  // overwritten with -1 in the INPUT, as the reference kernel does.
  data = original;
  y = run_nms({{"top_k", "2"}}, data, {5}, 5);
  CHECK(y == flat({kBoxes[1], kBoxes[2], kNone6, kNone6, kNone6}));
  CHECK(data == flat({kNone6, kBoxes[1], kBoxes[2], kNone6, kNone6}));

  // top_k = 0 keeps nothing (and writes nothing to the input).
  data = original;
  y = run_nms({{"top_k", "0"}}, data, {5}, 5);
  CHECK(y == flat({kNone6, kNone6, kNone6, kNone6, kNone6}));
  CHECK(data == original);

  // top_k >= valid count, or negative: everything takes part.
  data = original;
  y = run_nms({{"top_k", "5"}}, data, {5}, 5);
  CHECK(y == flat({kBoxes[1], kBoxes[2], kBoxes[3], kNone6, kNone6}));
  data = original;
  y = run_nms({{"top_k", "-7"}}, data, {5}, 5);
  CHECK(y == flat({kBoxes[1], kBoxes[2], kBoxes[3], kNone6, kNone6}));
}

TEST_CASE("non_max_suppression negative ids and the valid count", "[vision]") {
  const Rows rows = {
      {0, 90, 0, 0, 10, 10},
      {-1, 80, 50, 50, 60, 60},
      {0, 70, 0, 0, 10, 10},     // identical to row 0
      {5, 100, 0, 0, 10, 10},    // past the valid count: ignored
  };
  std::vector<int32_t> data = flat(rows);
  // Row 0's scan stops at row 1 (id < 0), so row 2 survives; row 1 is never
  // written but still scans (other class, no suppression).
  auto y = run_nms({}, data, {3}, 4);
  CHECK(y == flat({rows[0], rows[2], kNone6, kNone6}));

  // A row with id -1 suppresses others when force_suppress is set.
  Rows twin = rows;
  twin[1] = {-1, 80, 0, 0, 10, 10};
  data = flat(twin);
  y = run_nms({{"force_suppress", "1"}}, data, {3}, 4);
  CHECK(y == flat({twin[0], kNone6, kNone6, kNone6}));

  // The valid count is clamped to [0, anchors].
  data = flat(rows);
  y = run_nms({}, data, {100}, 4);
  CHECK(y == flat({rows[3], rows[0], rows[2], kNone6}));
}

TEST_CASE("non_max_suppression stops at a batch with no valid box", "[vision]") {
  // The reference fills that batch with -1 and returns: later batches of the
  // output keep what the buffer held (run_nms pre-fills it with 7).
  const Rows rows = {{0, 90, 0, 0, 10, 10}, {1, 80, 0, 0, 10, 10}};
  std::vector<int32_t> data = flat({rows[0], rows[1], rows[0], rows[1]});
  auto y = run_nms({}, data, {1, 2}, 2);
  CHECK(y == flat({rows[0], kNone6, rows[0], rows[1]}));
  y = run_nms({}, data, {-3, 2}, 2);
  std::vector<int32_t> expected = flat({kNone6, kNone6});
  expected.resize(24, 7);
  CHECK(y == expected);
}

TEST_CASE("non_max_suppression with data and valid count in one memory", "[vision]") {
  // As when both outputs of get_valid_counts share a storage: the count of
  // batch b is data[b], read when batch b starts. Batch 0: count data[0]=2;
  // top_k=1 sorts row 1 (score 5) first and writes -1 over row 0, so
  // data[1] (batch 1's count) becomes -1 and the kernel stops there.
  auto op = make_op("non_max_suppression", {{"top_k", "1"}});
  std::vector<Shape> in = {{2, 2, 6}, {2}}, out;
  op->infer_shape(in, out);
  std::vector<int32_t> data = {2, 1, 0, 0, 1, 1,   0, 5, 0, 0, 2, 2,
                               0, 9, 0, 0, 3, 3,   0, 8, 0, 0, 4, 4};
  std::vector<int32_t> y(24, 7);
  cvm::Workspace ws;
  op->run({Tensor{data.data(), in[0]}, Tensor{data.data(), in[1]}},
          {Tensor{y.data(), out[0]}}, ws);
  CHECK(y == std::vector<int32_t>{0, 5, 0, 0, 2, 2, -1, -1, -1, -1, -1, -1,
                                  -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1});
  CHECK(data[0] == -1);
  CHECK(data[1] == -1);
}

TEST_CASE("non_max_suppression IoU arithmetic at the int32 limits", "[vision]") {
  // Widths wrap in int32 as in the reference: INT_MAX - INT_MIN = -1, so two
  // identical boxes spanning the whole range have area sum -2 and IoU 0.
  const std::vector<int32_t> wide = {0, 9, INT_MIN, 0, INT_MAX, 1};
  std::vector<int32_t> data = wide;
  data.insert(data.end(), wide.begin(), wide.end());
  auto y = run_nms({{"iou_threshold", "1"}}, data, {2}, 2);
  CHECK(y == flat({wide, wide}));

  // Overlap above INT64_MAX / 100: the union is divided by 100 instead of
  // the overlap multiplied. a = [0,0,2^30,2^30], b = [0,0,2^30,2^29]:
  // overlap 2^59, union 2^60; 2^59 / (2^60 / 100) = 50.
  const int32_t big = 1 << 30, half = 1 << 29;
  const std::vector<int32_t> a = {0, 9, 0, 0, big, big}, b = {0, 8, 0, 0, big, half};
  data = flat({a, b});
  y = run_nms({{"iou_threshold", "50"}}, data, {2}, 2);
  CHECK(y == flat({a, kNone6}));
  data = flat({a, b});
  y = run_nms({{"iou_threshold", "51"}}, data, {2}, 2);
  CHECK(y == flat({a, b}));
  // 2e9 x 2e9 and 2e9 x 1.5e9: overlap 3e18, union 4e18 / 100 -> 75.
  const std::vector<int32_t> full = {0, 9, 0, 0, 2000000000, 2000000000};
  const std::vector<int32_t> part = {0, 8, 0, 0, 2000000000, 1500000000};
  data = flat({full, part});
  y = run_nms({{"iou_threshold", "75"}}, data, {2}, 2);
  CHECK(y == flat({full, kNone6}));
  data = flat({full, part});
  y = run_nms({{"iou_threshold", "76"}}, data, {2}, 2);
  CHECK(y == flat({full, part}));

  // Width 2^31 wraps to -2^31: [-2^30,-2^30,2^30,2^30] has area +2^62 and
  // the intersection width wraps negative, so the overlap is 0: no
  // suppression even for identical boxes.
  const std::vector<int32_t> wrapped = {0, 9, -big, -big, big, big};
  data = flat({wrapped, wrapped});
  y = run_nms({{"iou_threshold", "1"}}, data, {2}, 2);
  CHECK(y == flat({wrapped, wrapped}));
}

TEST_CASE("non_max_suppression shape, precision, gas and attribute rules", "[vision]") {
  auto op = make_op("non_max_suppression");
  REQUIRE(op->num_inputs(2) == 2);
  REQUIRE(op->num_outputs() == 1);
  std::vector<Shape> out;
  auto shape_code = [&](std::vector<Shape> in, const AttrDict& dict = {}) {
    auto o = make_op("non_max_suppression", dict);
    return error_code([&] { o->infer_shape(in, out); });
  };
  CHECK(shape_code({{2, 4, 6}, {2}}) == 0);
  CHECK(shape_code({{8, 6}, {2}}) == 1);
  CHECK(shape_code({{2, 4, 6}, {2, 1}}) == 1);
  CHECK(shape_code({{2, 4, 5}, {2}}) == 1);
  CHECK(shape_code({{2, 4, 6}, {3}}) == 1);
  CHECK(shape_code({{2, 4, 6}, {2}}, {{"coord_start", "1"}}) == 1);
  CHECK(shape_code({{2, 4, 6}, {2}}, {{"score_index", "0"}}) == 1);
  CHECK(shape_code({{2, 4, 6}, {2}}, {{"id_index", "-1"}}) == 1);
  CHECK(shape_code({{2, 4, 6}, {2}}, {{"iou_threshold", "0"}}) == 1);
  CHECK(shape_code({{2, 4, 6}, {2}}, {{"iou_threshold", "-3"}}) == 1);
  CHECK(shape_code({{2, 4, 6}, {2}}, {{"return_indices", "True"}}) == 1);
  CHECK(shape_code({{2, 4, 6}, {2}}, {{"invalid_to_bottom", "False"}}) == 1);

  CHECK(error_code([] { make_op("non_max_suppression", {{"topk", "1"}}); }) == 2);
  CHECK(error_code([] { make_op("non_max_suppression", {{"top_k", "one"}}); }) == 2);
  CHECK(error_code([] { make_op("non_max_suppression", {{"force_suppress", "yes"}}); }) == 2);

  std::vector<int> iprec = {30, 9}, oprec = {-1};
  op->infer_precision({{2, 4, 6}, {2}, {2, 4, 6}}, iprec, oprec);
  CHECK(oprec[0] == 30);
  iprec = {32, 9};
  op->infer_precision({{2, 4, 6}, {2}, {2, 4, 6}}, iprec, oprec);
  CHECK(oprec[0] == 32);  // no 30-bit limit: the reference uses SamePrecision
  iprec = {8, -1};
  CHECK(error_code([&] {
          op->infer_precision({{2, 4, 6}, {2}, {2, 4, 6}}, iprec, oprec);
        }) == 1);

  CHECK(op->gas_per_output({{3, 10, 6}, {3}}, {{3, 10, 6}}) == 60);
  CHECK_FALSE(op->in_place_allowed());
}
