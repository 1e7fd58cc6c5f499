// Transform operators: hand-checked values, attribute and shape-rule errors.
#include <catch2/catch.hpp>

#include "op_test_util.h"

#include <climits>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ops/op.h"

namespace {

using cvm::test::error_code;
using cvm::test::make_op;

using cvm::AttrDict;
using cvm::Shape;

int make_code(const std::string& name, const AttrDict& dict) {
  return error_code([&] { make_op(name, dict); });
}

Shape infer(const std::string& name, const AttrDict& dict, std::vector<Shape> in) {
  auto op = make_op(name, dict);
  std::vector<Shape> out(1);
  op->infer_shape(in, out);
  REQUIRE(out.size() == 1);
  return out[0];
}

int infer_code(const std::string& name, const AttrDict& dict, std::vector<Shape> in) {
  auto op = make_op(name, dict);
  return error_code([&] {
    std::vector<Shape> out(1);
    op->infer_shape(in, out);
  });
}

int precision(const std::string& name, const AttrDict& dict, std::vector<int> in) {
  auto op = make_op(name, dict);
  std::vector<int> out{-1};
  op->infer_precision({}, in, out);
  REQUIRE(out.size() == 1);
  return out[0];
}

struct Input {
  Shape shape;
  std::vector<int32_t> values;
};

struct Output {
  Shape shape;
  std::vector<int32_t> values;
};

// Infers the output shape, then runs the kernel on a buffer pre-filled with
// a marker value (so untouched elements show).
Output run(const std::string& name, const AttrDict& dict, std::vector<Input> inputs) {
  auto op = make_op(name, dict);
  REQUIRE(op->num_inputs(static_cast<uint32_t>(inputs.size())) == inputs.size());
  std::vector<Shape> in_shapes;
  for (const Input& i : inputs) {
    REQUIRE(cvm::shape_size(i.shape) == static_cast<int64_t>(i.values.size()));
    in_shapes.push_back(i.shape);
  }
  std::vector<Shape> out_shapes(1);
  op->infer_shape(in_shapes, out_shapes);
  Output result{out_shapes[0],
                std::vector<int32_t>(static_cast<size_t>(cvm::shape_size(out_shapes[0])),
                                     -777)};
  std::vector<cvm::Tensor> in_t, out_t(1);
  for (Input& i : inputs) in_t.push_back(cvm::Tensor{i.values.data(), i.shape});
  out_t[0] = cvm::Tensor{result.values.data(), result.shape};
  cvm::Workspace ws;
  op->run(in_t, out_t, ws);
  return result;
}

std::vector<int32_t> iota(int n, int start = 0) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[i] = start + i;
  return v;
}

using V = std::vector<int32_t>;

}  // namespace

TEST_CASE("flatten", "[transform]") {
  Output o = run("flatten", {}, {{{2, 3, 2}, iota(12)}});
  CHECK(o.shape == Shape{2, 6});
  CHECK(o.values == iota(12));
  CHECK(infer("flatten", {}, {{5}}) == Shape{5, 1});
  CHECK(infer("flatten", {}, {{1, 4, 1}}) == Shape{1, 4});
  CHECK(precision("flatten", {}, {13}) == 13);
  CHECK(make_code("flatten", {{"axis", "1"}}) == 1);
  CHECK(make_op("flatten")->in_place_allowed());

  // In place: the same buffer is left as it is.
  auto op = make_op("flatten");
  V buf{INT32_MIN, 7, INT32_MAX, -1};
  cvm::Tensor t{buf.data(), {2, 2}};
  cvm::Workspace ws;
  op->run({t}, {cvm::Tensor{buf.data(), {2, 2}}}, ws);
  CHECK(buf == V{INT32_MIN, 7, INT32_MAX, -1});
}

TEST_CASE("concatenate", "[transform]") {
  Output o = run("concatenate", {{"axis", "0"}},
                 {{{2, 2}, {1, 2, 3, 4}}, {{1, 2}, {5, 6}}});
  CHECK(o.shape == Shape{3, 2});
  CHECK(o.values == V{1, 2, 3, 4, 5, 6});

  // Default axis 1.
  o = run("concatenate", {}, {{{2, 1}, {1, 2}}, {{2, 2}, {3, 4, 5, 6}}});
  CHECK(o.shape == Shape{2, 3});
  CHECK(o.values == V{1, 3, 4, 2, 5, 6});

  o = run("concatenate", {{"axis", "-1"}},
          {{{2, 1}, {1, 2}}, {{2, 1}, {INT32_MIN, INT32_MAX}}, {{2, 1}, {9, 8}}});
  CHECK(o.shape == Shape{2, 3});
  CHECK(o.values == V{1, INT32_MIN, 9, 2, INT32_MAX, 8});

  // A single input is copied.
  o = run("concatenate", {{"axis", "0"}}, {{{3}, {4, 5, 6}}});
  CHECK(o.values == V{4, 5, 6});

  CHECK(make_op("concatenate")->num_inputs(5) == 5);
  CHECK(precision("concatenate", {}, {8, 16, 4}) == 16);
  CHECK(precision("concatenate", {}, {3}) == 3);
  CHECK(!make_op("concatenate")->in_place_allowed());

  CHECK(infer_code("concatenate", {{"axis", "2"}}, {{2, 2}, {2, 2}}) == 1);
  CHECK(infer_code("concatenate", {{"axis", "-3"}}, {{2, 2}, {2, 2}}) == 1);
  CHECK(infer_code("concatenate", {{"axis", "0"}}, {{2, 2}, {2, 3}}) == 1);
  CHECK(infer_code("concatenate", {{"axis", "0"}}, {{2, 2}, {2, 2, 1}}) == 1);
  CHECK(infer_code("concatenate", {{"axis", "0"}}, {}) == 1);
  CHECK(make_code("concatenate", {{"axis", "x"}}) == 2);
  CHECK(make_code("concatenate", {{"dim", "0"}}) == 2);
}

TEST_CASE("expand_dims", "[transform]") {
  CHECK(infer("expand_dims", {{"axis", "1"}, {"num_newaxis", "2"}}, {{2, 3}}) ==
        Shape{2, 1, 1, 3});
  CHECK(infer("expand_dims", {{"axis", "-1"}}, {{2, 3}}) == Shape{2, 3, 1});
  CHECK(infer("expand_dims", {{"axis", "-3"}}, {{2, 3}}) == Shape{1, 2, 3});
  CHECK(infer("expand_dims", {{"axis", "2"}}, {{2, 3}}) == Shape{2, 3, 1});
  Output o = run("expand_dims", {{"axis", "0"}}, {{{3}, {INT32_MIN, 0, INT32_MAX}}});
  CHECK(o.shape == Shape{1, 3});
  CHECK(o.values == V{INT32_MIN, 0, INT32_MAX});
  CHECK(make_op("expand_dims", {{"axis", "0"}})->in_place_allowed());
  CHECK(precision("expand_dims", {{"axis", "0"}}, {32}) == 32);

  CHECK(infer_code("expand_dims", {{"axis", "3"}}, {{2, 3}}) == 1);
  CHECK(infer_code("expand_dims", {{"axis", "-4"}}, {{2, 3}}) == 1);
  CHECK(infer_code("expand_dims", {{"axis", "0"}, {"num_newaxis", "4097"}}, {{2}}) == 1);
  CHECK(make_code("expand_dims", {}) == 2);  // axis is required
  CHECK(make_code("expand_dims", {{"axis", "0"}, {"num_newaxis", "0"}}) == 2);
  CHECK(make_code("expand_dims", {{"axis", "1.5"}}) == 2);
}

TEST_CASE("repeat", "[transform]") {
  Output o = run("repeat", {{"repeats", "2"}, {"axis", "1"}}, {{{2, 2}, {1, 2, 3, 4}}});
  CHECK(o.shape == Shape{2, 4});
  CHECK(o.values == V{1, 1, 2, 2, 3, 3, 4, 4});
  o = run("repeat", {{"repeats", "2"}}, {{{2, 2}, {1, 2, 3, 4}}});  // axis 0
  CHECK(o.shape == Shape{4, 2});
  CHECK(o.values == V{1, 2, 1, 2, 3, 4, 3, 4});
  o = run("repeat", {{"repeats", "3"}, {"axis", "-1"}}, {{{2}, {INT32_MIN, INT32_MAX}}});
  CHECK(o.values == V{INT32_MIN, INT32_MIN, INT32_MIN, INT32_MAX, INT32_MAX, INT32_MAX});
  o = run("repeat", {{"repeats", "2"}, {"axis", "1"}}, {{{1, 2, 2}, {1, 2, 3, 4}}});
  CHECK(o.shape == Shape{1, 4, 2});
  CHECK(o.values == V{1, 2, 1, 2, 3, 4, 3, 4});
  CHECK(precision("repeat", {{"repeats", "2"}}, {7}) == 7);

  CHECK(infer_code("repeat", {{"repeats", "0"}}, {{2}}) == 1);
  CHECK(infer_code("repeat", {{"repeats", "-1"}}, {{2}}) == 1);
  CHECK(infer_code("repeat", {{"repeats", "2"}, {"axis", "2"}}, {{2, 2}}) == 1);
  CHECK(infer_code("repeat", {{"repeats", "2"}, {"axis", "-3"}}, {{2, 2}}) == 1);
  CHECK(make_code("repeat", {{"axis", "0"}}) == 2);  // repeats is required
}

TEST_CASE("tile", "[transform]") {
  Output o = run("tile", {{"reps", "(2, 2)"}}, {{{2}, {1, 2}}});
  CHECK(o.shape == Shape{2, 4});
  CHECK(o.values == V{1, 2, 1, 2, 1, 2, 1, 2});
  o = run("tile", {{"reps", "(2,)"}}, {{{2, 2}, {1, 2, 3, 4}}});
  CHECK(o.shape == Shape{2, 4});
  CHECK(o.values == V{1, 2, 1, 2, 3, 4, 3, 4});
  o = run("tile", {{"reps", "(2, 1, 2)"}}, {{{2, 1}, {1, 2}}});
  CHECK(o.shape == Shape{2, 2, 2});
  CHECK(o.values == V{1, 1, 2, 2, 1, 1, 2, 2});
  o = run("tile", {{"reps", "(3, 1)"}}, {{{1, 2}, {INT32_MIN, INT32_MAX}}});
  CHECK(o.values == V{INT32_MIN, INT32_MAX, INT32_MIN, INT32_MAX, INT32_MIN, INT32_MAX});
  CHECK(precision("tile", {{"reps", "(2,)"}}, {9}) == 9);

  CHECK(infer_code("tile", {}, {{2}}) == 1);  // default reps (0)
  CHECK(infer_code("tile", {{"reps", "()"}}, {{2}}) == 1);
  CHECK(infer_code("tile", {{"reps", "(1, 0)"}}, {{2}}) == 1);
  CHECK(infer_code("tile", {{"reps", "(4097,)"}}, {{2}}) == 1);
  CHECK(infer_code("tile", {{"reps", "(4096,)"}}, {{2}}) == 0);
  CHECK(make_code("tile", {{"reps", "(1, a)"}}) == 2);
}

TEST_CASE("reshape", "[transform]") {
  const std::vector<Shape> d{{2, 3, 4}};
  auto sh = [&](const char* s) { return infer("reshape", {{"shape", s}}, d); };
  CHECK(sh("(4, 0, 2)") == Shape{4, 3, 2});
  CHECK(sh("(2, 0, 0)") == Shape{2, 3, 4});
  CHECK(sh("(6, 1, -1)") == Shape{6, 1, 4});
  CHECK(sh("(3, -1, 8)") == Shape{3, 1, 8});
  CHECK(sh("(-1,)") == Shape{24});
  CHECK(sh("(-2,)") == Shape{2, 3, 4});
  CHECK(sh("(2, -2)") == Shape{2, 3, 4});
  CHECK(sh("(-2, 1, 1)") == Shape{2, 3, 4, 1, 1});
  CHECK(sh("(-3, 4)") == Shape{6, 4});
  CHECK(sh("(0, -3)") == Shape{2, 12});
  CHECK(sh("(-3, -2)") == Shape{6, 4});
  CHECK(sh("(-4, 1, 2, -2)") == Shape{1, 2, 3, 4});
  CHECK(sh("(2, -4, -1, 3, -2)") == Shape{2, 1, 3, 4});
  // Values below -4 are skipped without consuming a source dim.
  CHECK(sh("(-5, 24)") == Shape{24});
  // -4's split values narrow to int32 like the reference's.
  CHECK(sh("(-4, 4294967298, -1, -2)") == Shape{2, 1, 3, 4});

  Output o = run("reshape", {{"shape", "(2, 2)"}}, {{{4}, {INT32_MIN, 1, 2, INT32_MAX}}});
  CHECK(o.shape == Shape{2, 2});
  CHECK(o.values == V{INT32_MIN, 1, 2, INT32_MAX});
  CHECK(make_op("reshape", {{"shape", "(1,)"}})->in_place_allowed());
  CHECK(precision("reshape", {{"shape", "(1,)"}}, {5}) == 5);

  auto code = [&](const char* s) { return infer_code("reshape", {{"shape", s}}, d); };
  CHECK(code("(5, 5)") == 1);
  CHECK(code("(-1, -1)") == 1);
  CHECK(code("()") == 1);
  CHECK(code("(0, 0, 0, 0)") == 1);
  CHECK(code("(2, 3, -3)") == 1);
  CHECK(code("(-4, 1)") == 1);
  CHECK(code("(-4, -1, -1, -2)") == 1);
  CHECK(code("(-4, 3, -1, -2)") == 1);  // 3 does not divide 2
  // The reference divides by zero on these; we reject them.
  CHECK(code("(-4, -1, 0, -2)") == 1);
  CHECK(code("(-4, 0, -1, -2)") == 1);
  CHECK(code("(-1, 4294967296)") == 1);
  CHECK(make_code("reshape", {}) == 2);
  CHECK(make_code("reshape", {{"shape", "(2, x)"}}) == 2);
}

TEST_CASE("squeeze", "[transform]") {
  CHECK(infer("squeeze", {}, {{1, 3, 1}}) == Shape{3});
  CHECK(infer("squeeze", {{"axis", "(0,)"}}, {{1, 3, 1}}) == Shape{3, 1});
  CHECK(infer("squeeze", {{"axis", "(0, 2)"}}, {{1, 3, 1}}) == Shape{3});
  CHECK(infer("squeeze", {{"axis", "(-1,)"}}, {{1, 3, 1}}) == Shape{1, 3});
  CHECK(infer("squeeze", {{"axis", "(0, 0)"}}, {{1, 3}}) == Shape{3});
  CHECK(infer("squeeze", {}, {{1, 1}}) == Shape{1});
  CHECK(infer("squeeze", {}, {{2, 3}}) == Shape{2, 3});
  Output o = run("squeeze", {}, {{{1, 2, 1}, {INT32_MAX, INT32_MIN}}});
  CHECK(o.values == V{INT32_MAX, INT32_MIN});
  CHECK(make_op("squeeze")->in_place_allowed());
  CHECK(precision("squeeze", {}, {2}) == 2);

  CHECK(infer_code("squeeze", {{"axis", "(1,)"}}, {{1, 3, 1}}) == 1);
  CHECK(infer_code("squeeze", {{"axis", "(3,)"}}, {{1, 3, 1}}) == 1);
  CHECK(infer_code("squeeze", {{"axis", "(-4,)"}}, {{1, 3, 1}}) == 1);
  CHECK(make_code("squeeze", {{"axis", "(0"}}) == 2);
}

TEST_CASE("transpose", "[transform]") {
  Output o = run("transpose", {}, {{{2, 3}, {1, 2, 3, 4, 5, 6}}});
  CHECK(o.shape == Shape{3, 2});
  CHECK(o.values == V{1, 4, 2, 5, 3, 6});
  o = run("transpose", {{"axes", "(1, 0)"}}, {{{2, 3}, {1, 2, 3, 4, 5, 6}}});
  CHECK(o.values == V{1, 4, 2, 5, 3, 6});
  o = run("transpose", {{"axes", "(-1, -2)"}}, {{{2, 3}, {1, 2, 3, 4, 5, 6}}});
  CHECK(o.values == V{1, 4, 2, 5, 3, 6});
  o = run("transpose", {{"axes", "(1, 0, 2)"}}, {{{2, 2, 2}, iota(8)}});
  CHECK(o.values == V{0, 1, 4, 5, 2, 3, 6, 7});
  o = run("transpose", {}, {{{2, 2, 2}, iota(8)}});
  CHECK(o.values == V{0, 4, 2, 6, 1, 5, 3, 7});
  o = run("transpose", {{"axes", "(1, 2, 0)"}}, {{{2, 1, 3}, iota(6)}});
  CHECK(o.shape == Shape{1, 3, 2});
  CHECK(o.values == V{0, 3, 1, 4, 2, 5});
  o = run("transpose", {{"axes", "(0,)"}}, {{{3}, {INT32_MIN, 0, INT32_MAX}}});
  CHECK(o.values == V{INT32_MIN, 0, INT32_MAX});
  CHECK(precision("transpose", {}, {31}) == 31);
  CHECK(!make_op("transpose")->in_place_allowed());

  CHECK(infer_code("transpose", {{"axes", "(0, 0)"}}, {{2, 3}}) == 1);
  CHECK(infer_code("transpose", {{"axes", "(0, -2)"}}, {{2, 3}}) == 1);
  CHECK(infer_code("transpose", {{"axes", "(0,)"}}, {{2, 3}}) == 1);
  CHECK(infer_code("transpose", {{"axes", "(0, 2)"}}, {{2, 3}}) == 1);
  CHECK(infer_code("transpose", {{"axes", "(-3, 0)"}}, {{2, 3}}) == 1);
  CHECK(make_code("transpose", {{"perm", "(0, 1)"}}) == 2);
}

TEST_CASE("strided_slice", "[transform]") {
  const V m{1, 4, 7, 10, 2, 5, 8, 11, 3, 6, 9, 12};  // 3 x 4
  Output o = run("strided_slice", {{"begin", "(0, 1)"}, {"end", "(2, 4)"}, {"stride", "(1, 1)"}},
                 {{{3, 4}, m}});
  CHECK(o.shape == Shape{2, 3});
  CHECK(o.values == V{4, 7, 10, 5, 8, 11});
  // No stride: 1 on every axis.
  o = run("strided_slice", {{"begin", "(0, 1)"}, {"end", "(2, 4)"}}, {{{3, 4}, m}});
  CHECK(o.values == V{4, 7, 10, 5, 8, 11});
  // No end: the default end is (1), then the full dims.
  o = run("strided_slice", {{"begin", "(0, 1)"}}, {{{3, 4}, m}});
  CHECK(o.shape == Shape{1, 3});
  CHECK(o.values == V{4, 7, 10});
  o = run("strided_slice", {{"begin", "(0, 0)"}, {"end", "(3, 4)"}, {"stride", "(2, 3)"}},
          {{{3, 4}, m}});
  CHECK(o.shape == Shape{2, 2});
  CHECK(o.values == V{1, 10, 3, 12});
  // Negative stride.
  o = run("strided_slice", {{"begin", "(4,)"}, {"end", "(0,)"}, {"stride", "(-2,)"}},
          {{{6}, iota(6)}});
  CHECK(o.values == V{4, 2});
  // Negative begin/end count from the end; end clamps to -1.
  o = run("strided_slice", {{"begin", "(-1,)"}, {"end", "(-10,)"}, {"stride", "(-1,)"}},
          {{{6}, iota(6)}});
  CHECK(o.values == V{5, 4, 3, 2, 1, 0});
  // Begin beyond the dim clamps to it (d - 1 for a negative stride).
  o = run("strided_slice", {{"begin", "(100,)"}, {"end", "(3,)"}, {"stride", "(-1,)"}},
          {{{6}, iota(6)}});
  CHECK(o.values == V{5, 4});
  o = run("strided_slice", {{"begin", "(-100,)"}, {"end", "(100,)"}}, {{{3}, {INT32_MIN, 0, INT32_MAX}}});
  CHECK(o.values == V{INT32_MIN, 0, INT32_MAX});
  // Extra begin/end/stride entries past the rank are ignored.
  o = run("strided_slice", {{"begin", "(1, 5)"}, {"end", "(3, 9)"}, {"stride", "(1, 0)"}},
          {{{6}, iota(6)}});
  CHECK(o.values == V{1, 2});
  // A stride of INT64_MIN: the reference's size arithmetic wraps.
  CHECK(infer("strided_slice",
              {{"begin", "(5,)"}, {"end", "(4,)"}, {"stride", "(-9223372036854775808,)"}},
              {{6}}) == Shape{1});
  CHECK(infer("strided_slice",
              {{"begin", "(5,)"}, {"end", "(0,)"}, {"stride", "(-9223372036854775808,)"}},
              {{6}}) == Shape{0});
  CHECK(precision("strided_slice", {}, {12}) == 12);

  CHECK(infer_code("strided_slice", {{"begin", "(0,)"}, {"end", "(3,)"}, {"stride", "(0,)"}},
                   {{6}}) == 1);
  CHECK(infer_code("strided_slice", {{"begin", "(3,)"}, {"end", "(3,)"}}, {{6}}) == 1);
  CHECK(infer_code("strided_slice", {{"begin", "(4,)"}, {"end", "(2,)"}}, {{6}}) == 1);
  CHECK(infer_code("strided_slice", {{"begin", "(2,)"}, {"end", "(4,)"}, {"stride", "(-1,)"}},
                   {{6}}) == 1);
  CHECK(infer_code("strided_slice", {{"begin", "(10,)"}, {"end", "(20,)"}}, {{6}}) == 1);
  CHECK(make_code("strided_slice", {{"begin", "(a,)"}}) == 2);
  CHECK(make_code("strided_slice", {{"step", "(1,)"}}) == 2);
}

TEST_CASE("slice_like", "[transform]") {
  Output o = run("slice_like", {}, {{{3, 4}, iota(12)}, {{2, 3}, V(6, 0)}});
  CHECK(o.shape == Shape{2, 3});
  CHECK(o.values == V{0, 1, 2, 4, 5, 6});
  o = run("slice_like", {{"axis", "(1,)"}}, {{{3, 4}, iota(12)}, {{2, 3}, V(6, 0)}});
  CHECK(o.shape == Shape{3, 3});
  CHECK(o.values == V{0, 1, 2, 4, 5, 6, 8, 9, 10});
  o = run("slice_like", {{"axis", "(-2,)"}}, {{{3, 4}, iota(12)}, {{1, 9, 9}, V(81, 0)}});
  CHECK(o.shape == Shape{1, 4});
  CHECK(o.values == V{0, 1, 2, 3});
  CHECK(make_op("slice_like")->num_inputs(2) == 2);
  CHECK(precision("slice_like", {}, {6, 30}) == 6);

  CHECK(infer_code("slice_like", {}, {{3, 4}, {4, 4}}) == 1);
  CHECK(infer_code("slice_like", {}, {{3, 4}, {2}}) == 1);
  CHECK(infer_code("slice_like", {{"axis", "(2,)"}}, {{3, 4}, {2, 3}}) == 1);
  CHECK(infer_code("slice_like", {{"axis", "(1,)"}}, {{3, 4}, {2}}) == 1);
  CHECK(infer_code("slice_like", {{"axis", "(-3,)"}}, {{3, 4}, {2, 3}}) == 1);
  CHECK(make_code("slice_like", {{"axis", "(1.5,)"}}) == 2);
}

TEST_CASE("take", "[transform]") {
  const Input a{{2, 2}, {1, 2, 3, 4}};
  Output o = run("take", {}, {a, {{3}, {3, 0, 2}}});
  CHECK(o.shape == Shape{3});
  CHECK(o.values == V{4, 1, 3});
  // Indices clip into range.
  o = run("take", {}, {a, {{2, 2}, {-5, 7, INT32_MIN, INT32_MAX}}});
  CHECK(o.shape == Shape{2, 2});
  CHECK(o.values == V{1, 4, 1, 4});
  o = run("take", {{"axis", "None"}}, {a, {{1}, {2}}});
  CHECK(o.values == V{3});
  o = run("take", {{"axis", "1"}}, {a, {{2}, {1, 0}}});
  CHECK(o.shape == Shape{2, 2});
  CHECK(o.values == V{2, 1, 4, 3});
  o = run("take", {{"axis", "0"}}, {a, {{2, 1}, {1, 0}}});
  CHECK(o.shape == Shape{2, 1, 2});
  CHECK(o.values == V{3, 4, 1, 2});
  o = run("take", {{"axis", "-1"}}, {a, {{1}, {5}}});
  CHECK(o.shape == Shape{2, 1});
  CHECK(o.values == V{2, 4});
  o = run("take", {{"axis", "1"}}, {{{2, 3, 2}, iota(12)}, {{2}, {-1, 2}}});
  CHECK(o.shape == Shape{2, 2, 2});
  CHECK(o.values == V{0, 1, 4, 5, 6, 7, 10, 11});
  CHECK(precision("take", {}, {8, 32}) == 8);

  CHECK(infer_code("take", {{"axis", "2"}}, {{2, 2}, {3}}) == 1);
  CHECK(infer_code("take", {{"axis", "-3"}}, {{2, 2}, {3}}) == 1);
  CHECK(make_code("take", {{"axis", "one"}}) == 2);
}

TEST_CASE("cvm_lut", "[transform]") {
  Output o = run("cvm_lut", {{"in_dim", "4"}},
                 {{{2, 2}, {0, 3, -1, 10}}, {{4}, {10, 20, INT32_MIN, INT32_MAX}}});
  CHECK(o.shape == Shape{2, 2});
  CHECK(o.values == V{10, INT32_MAX, 10, INT32_MAX});
  o = run("cvm_lut", {{"in_dim", "4"}}, {{{3}, {1, 2, INT32_MIN}}, {{2, 2}, {5, 6, 7, 8}}});
  CHECK(o.values == V{6, 7, 5});
  CHECK(precision("cvm_lut", {{"in_dim", "4"}}, {8, 16}) == 16);
  CHECK(make_op("cvm_lut", {{"in_dim", "4"}})->num_inputs(2) == 2);

  CHECK(infer_code("cvm_lut", {{"in_dim", "5"}}, {{2}, {4}}) == 1);
  CHECK(make_code("cvm_lut", {}) == 2);
  CHECK(make_code("cvm_lut", {{"in_dim", "4"}, {"axis", "0"}}) == 2);
}

TEST_CASE("where", "[transform]") {
  Output o = run("where", {},
                 {{{2, 2}, {1, 0, 0, -1}}, {{2, 2}, {1, 2, 3, 4}}, {{2, 2}, {5, 6, 7, 8}}});
  CHECK(o.shape == Shape{2, 2});
  CHECK(o.values == V{1, 6, 7, 4});
  o = run("where", {}, {{{2}, {INT32_MIN, 0}}, {{2}, {INT32_MAX, 1}}, {{2}, {2, INT32_MIN}}});
  CHECK(o.values == V{INT32_MAX, INT32_MIN});

  // Row mode copies only `row` bytes of each row (the reference's length
  // bug) and we zero the rest: rows of 4 ints keep their first int.
  o = run("where", {},
          {{{2}, {1, 0}}, {{2, 4}, {11, 12, 13, 14, 15, 16, 17, 18}},
           {{2, 4}, {21, 22, 23, 24, 25, 26, 27, 28}}});
  CHECK(o.values == V{11, 0, 0, 0, 25, 0, 0, 0});
  // Rows of 2 ints keep the low 2 bytes of their first int: the bytes the
  // reference's little-endian host copies, whatever this host's order.
  o = run("where", {},
          {{{2}, {0, 3}}, {{2, 2}, {1, 2, 0x12345678, 9}}, {{2, 2}, {-1, 5, 6, 7}}});
  CHECK(o.values == V{0xFFFF, 0, 0x5678, 0});
  // Rows of 7 ints: one whole int, then the low 3 bytes of the next.
  o = run("where", {},
          {{{1}, {1}}, {{1, 7}, {-2, -0x12345678, 3, 4, 5, 6, 7}}, {{1, 7}, {0, 0, 0, 0, 0, 0, 0}}});
  CHECK(o.values == V{-2, static_cast<int32_t>(uint32_t(-0x12345678) & 0xFFFFFF), 0, 0, 0, 0, 0});

  // The output takes the condition's precision.
  CHECK(precision("where", {}, {1, 8, 8}) == 1);
  CHECK(make_op("where")->num_inputs(3) == 3);

  CHECK(infer_code("where", {}, {{2, 2}, {2, 2}, {2, 3}}) == 1);
  CHECK(infer_code("where", {}, {{3}, {2, 2}, {2, 2}}) == 1);
  CHECK(infer_code("where", {}, {{2, 1}, {2, 2}, {2, 2}}) == 1);
  CHECK(infer_code("where", {}, {{2}, {2, 2}, {2, 2}}) == 0);
  CHECK(make_code("where", {{"axis", "0"}}) == 1);
}

TEST_CASE("transform ops: precision checks and gas", "[transform]") {
  // An input without a precision is a logic error.
  auto op = make_op("take");
  std::vector<int> in{-1, 8}, out{-1};
  CHECK(error_code([&] { op->infer_precision({}, in, out); }) == 1);
  auto lut = make_op("cvm_lut", {{"in_dim", "4"}});
  std::vector<int> in2{8, -1};
  CHECK(error_code([&] { lut->infer_precision({}, in2, out); }) == 1);
  // Every transform op weighs 1 gas per output element.
  for (const char* name : {"flatten", "transpose", "where", "concatenate"}) {
    CHECK(make_op(name)->gas_per_output({{2, 3}}, {{3, 2}}) == 1);
  }
}
