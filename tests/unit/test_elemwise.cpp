// Element-wise operators: hand-worked values, edge values, attribute and
// rule errors with the reference's error classes.
#include <catch2/catch.hpp>

#include "op_test_util.h"

#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/op.h"

using namespace cvm;

namespace {

using cvm::test::error_code;
using cvm::test::make_op;



struct Input {
  Shape shape;
  std::vector<int32_t> data;
};

// Runs the shape rule then the kernel; returns the output values.
std::vector<int32_t> run_op(const Operator& op, std::vector<Input> inputs,
                            Shape* out_shape = nullptr) {
  std::vector<Shape> in_shapes;
  for (const auto& in : inputs) in_shapes.push_back(in.shape);
  std::vector<Shape> out_shapes;
  op.infer_shape(in_shapes, out_shapes);
  REQUIRE(out_shapes.size() == 1);
  std::vector<int32_t> y(static_cast<size_t>(shape_size(out_shapes[0])), 12345);
  std::vector<Tensor> ins;
  for (auto& in : inputs) ins.push_back(Tensor{in.data.data(), in.shape});
  std::vector<Tensor> outs{Tensor{y.data(), out_shapes[0]}};
  Workspace ws;
  op.run(ins, outs, ws);
  if (out_shape) *out_shape = out_shapes[0];
  return y;
}

std::vector<int32_t> run_unary(const std::string& name, const AttrDict& dict,
                               std::vector<int32_t> x) {
  auto op = make_op(name, dict);
  Shape shape{static_cast<int64_t>(x.size())};
  return run_op(*op, {Input{shape, x}});
}

// Runs the precision rule with the given input precisions; returns the output's.
int out_precision(const Operator& op, std::vector<int> in, std::vector<Shape> shapes = {}) {
  if (shapes.empty()) shapes.assign(in.size() + 1, Shape{4});
  std::vector<int> out{-1};
  op.infer_precision(shapes, in, out);
  return out[0];
}

const int32_t kMin = INT32_MIN;
const int32_t kMax = INT32_MAX;

}  // namespace

TEST_CASE("abs: values, INT32_MIN wraps, same precision, in place", "[elemwise]") {
  CHECK(run_unary("abs", {}, {-5, 0, 7, kMin + 1, kMin}) ==
        std::vector<int32_t>{5, 0, 7, kMax, kMin});
  auto op = make_op("abs");
  CHECK(out_precision(*op, {13}) == 13);
  CHECK(op->in_place_allowed());
  CHECK(op->num_inputs(1) == 1);
}

TEST_CASE("abs in place gives the same values", "[elemwise]") {
  auto op = make_op("abs");
  std::vector<int32_t> buf{-3, 4, -5};
  Tensor t{buf.data(), Shape{3}};
  Workspace ws;
  op->run({t}, {t}, ws);
  CHECK(buf == std::vector<int32_t>{3, 4, 5});
}

TEST_CASE("negative: values, not in place", "[elemwise]") {
  CHECK(run_unary("negative", {}, {3, -4, 0, kMax, kMin}) ==
        std::vector<int32_t>{-3, 4, 0, -kMax, kMin});
  auto op = make_op("negative");
  CHECK_FALSE(op->in_place_allowed());
  CHECK(out_precision(*op, {8}) == 8);
}

TEST_CASE("relu: values", "[elemwise]") {
  CHECK(run_unary("relu", {}, {-1, 0, 5, kMin, kMax}) ==
        std::vector<int32_t>{0, 0, 5, 0, kMax});
  auto op = make_op("relu");
  CHECK(op->in_place_allowed());
  CHECK(out_precision(*op, {21}) == 21);
}

TEST_CASE("cvm_precision: bit length of |x|, at least 1; precision 6", "[elemwise]") {
  CHECK(run_unary("cvm_precision", {},
                  {0, 1, -1, 2, 3, 4, -4, 127, 128, -128, kMax, kMin}) ==
        std::vector<int32_t>{1, 1, 1, 2, 2, 3, 3, 7, 8, 8, 31, 32});
  auto op = make_op("cvm_precision");
  CHECK(out_precision(*op, {32}) == 6);
  CHECK(op->in_place_allowed());
}

TEST_CASE("operators without attributes reject any attribute with code 1", "[elemwise]") {
  for (const char* name : {"abs", "negative", "relu", "cvm_precision", "elemwise_add",
                           "elemwise_sub"}) {
    CHECK(error_code([&] { make_op(name, {{"a", "1"}}); }) == 1);
  }
}

TEST_CASE("elemwise_add / elemwise_sub: values, wraparound, precision", "[elemwise]") {
  auto add = make_op("elemwise_add");
  auto sub = make_op("elemwise_sub");
  Shape s{2, 2};
  CHECK(run_op(*add, {{s, {1, 2, kMax, -7}}, {s, {3, -4, 1, -9}}}) ==
        std::vector<int32_t>{4, -2, kMin, -16});
  CHECK(run_op(*sub, {{s, {1, 2, kMin, -7}}, {s, {3, -4, 1, -9}}}) ==
        std::vector<int32_t>{-2, 6, kMax, 2});
  CHECK(out_precision(*add, {8, 16}) == 17);
  CHECK(out_precision(*sub, {12, 3}) == 13);
  CHECK(add->num_inputs(2) == 2);
  CHECK(add->in_place_allowed());
  CHECK(sub->in_place_allowed());
}

TEST_CASE("elemwise_add with its output on an input", "[elemwise]") {
  auto add = make_op("elemwise_add");
  std::vector<int32_t> a{1, 2, 3}, b{10, 20, 30};
  Tensor ta{a.data(), Shape{3}}, tb{b.data(), Shape{3}};
  Workspace ws;
  add->run({ta, tb}, {tb}, ws);
  CHECK(b == std::vector<int32_t>{11, 22, 33});
  add->run({ta, ta}, {ta}, ws);
  CHECK(a == std::vector<int32_t>{2, 4, 6});
}

TEST_CASE("elemwise binary shape rule: shapes must be equal (code 1)", "[elemwise]") {
  auto add = make_op("elemwise_add");
  std::vector<Shape> in{{2, 3}, {2, 3}}, out;
  add->infer_shape(in, out);
  CHECK(out == std::vector<Shape>{{2, 3}});
  for (auto bad : std::vector<std::vector<Shape>>{{{2, 3}, {3}}, {{2, 3}, {2, 1}},
                                                  {{2, 3}, {1, 2, 3}}}) {
    CHECK(error_code([&] { add->infer_shape(bad, out); }) == 1);
  }
}

TEST_CASE("clip: values and precision", "[elemwise]") {
  AttrDict d{{"a_min", "-3"}, {"a_max", "5"}};
  CHECK(run_unary("clip", d, {-10, -3, -2, 0, 5, 6, kMin, kMax}) ==
        std::vector<int32_t>{-3, -3, -2, 0, 5, 5, -3, 5});
  // range max(|a_min|, |a_max|) = n needs bit_length(n + 1) + 1 bits.
  CHECK(out_precision(*make_op("clip", d), {8}) == 4);
  CHECK(out_precision(*make_op("clip", {{"a_min", "-127"}, {"a_max", "127"}}), {8}) == 9);
  CHECK(out_precision(*make_op("clip", {{"a_min", "-1"}, {"a_max", "0"}}), {8}) == 3);
  CHECK(out_precision(*make_op("clip", {{"a_min", "0"}, {"a_max", "1000"}}), {8}) == 11);
  // |a| = 2^31 - 1 gives 33: the rule passes, the graph rejects it later.
  CHECK(out_precision(*make_op("clip", {{"a_min", "0"}, {"a_max", "2147483647"}}), {8}) == 33);
  CHECK(make_op("clip", d)->in_place_allowed());
}

TEST_CASE("clip: attribute errors", "[elemwise]") {
  // Parse errors: code 2.
  CHECK(error_code([] { make_op("clip", {{"a_min", "1"}}); }) == 2);
  CHECK(error_code([] { make_op("clip", {{"a_max", "1"}}); }) == 2);
  CHECK(error_code([] { make_op("clip", {{"a_min", "x"}, {"a_max", "1"}}); }) == 2);
  CHECK(error_code([] { make_op("clip", {{"a_min", "0"}, {"a_max", "1"}, {"b", "1"}}); }) == 2);
  // Rule errors: code 1.
  auto check_rule = [](const char* lo, const char* hi) {
    auto op = make_op("clip", {{"a_min", lo}, {"a_max", hi}});
    return error_code([&] { out_precision(*op, {8}); });
  };
  CHECK(check_rule("3", "3") == 1);
  CHECK(check_rule("4", "3") == 1);
  CHECK(check_rule("-2147483648", "3") == 1);
  CHECK(check_rule("-2147483647", "2147483647") == 0);
}

TEST_CASE("cvm_clip: symmetric clip whatever is_sign says", "[elemwise]") {
  std::vector<int32_t> x{-100, -8, -7, 0, 7, 8, 100};
  std::vector<int32_t> want{-7, -7, -7, 0, 7, 7, 7};
  CHECK(run_unary("cvm_clip", {{"precision", "4"}}, x) == want);
  CHECK(run_unary("cvm_clip", {{"precision", "4"}, {"is_sign", "false"}}, x) == want);
  CHECK(run_unary("cvm_clip", {{"precision", "1"}}, {-5, 0, 5}) ==
        std::vector<int32_t>{0, 0, 0});
  CHECK(run_unary("cvm_clip", {{"precision", "32"}}, {kMin, kMax, -1}) ==
        std::vector<int32_t>{-kMax, kMax, -1});
  auto op = make_op("cvm_clip", {{"precision", "9"}});
  CHECK(out_precision(*op, {20}) == 9);
  CHECK(op->in_place_allowed());
}

TEST_CASE("cvm_clip: attribute errors", "[elemwise]") {
  CHECK(error_code([] { make_op("cvm_clip", {}); }) == 2);
  CHECK(error_code([] { make_op("cvm_clip", {{"precision", "8"}, {"is_sign", "maybe"}}); }) == 2);
  for (const char* p : {"0", "33", "-1"}) {
    auto op = make_op("cvm_clip", {{"precision", p}});
    CHECK(error_code([&] { out_precision(*op, {8}); }) == 1);
  }
}

TEST_CASE("cvm_right_shift: rounding shift with clip", "[elemwise]") {
  AttrDict d{{"precision", "8"}, {"shift_bit", "2"}};
  // Saturation bounds here: x < -510 -> -127, x > 506 -> 127.
  CHECK(run_unary("cvm_right_shift", d,
                  {5, 6, 7, -5, -6, -7, 1000, -1000, 506, 507, -510, -511, 0}) ==
        std::vector<int32_t>{1, 2, 2, -1, -1, -2, 127, -127, 127, 127, -127, -127, 0});
  // shift_bit 1: (x + 1) >> 1.
  CHECK(run_unary("cvm_right_shift", {{"precision", "8"}, {"shift_bit", "1"}},
                  {1, 2, 3, -1, -2, -3, 300, -300}) ==
        std::vector<int32_t>{1, 1, 2, 0, -1, -1, 127, -127});
}

TEST_CASE("cvm_right_shift: the deployed kernel's special cases", "[elemwise]") {
  // Precision 1: all zeros.
  CHECK(run_unary("cvm_right_shift", {{"precision", "1"}, {"shift_bit", "3"}},
                  {100, -100, 1}) == std::vector<int32_t>{0, 0, 0});
  // shift_bit >= 31: the sign, x >> 31.
  for (const char* s : {"31", "32"}) {
    CHECK(run_unary("cvm_right_shift", {{"precision", "8"}, {"shift_bit", s}},
                    {5, -5, 0, kMax, -kMax}) == std::vector<int32_t>{0, -1, 0, 0, -1});
  }
  // precision + shift_bit >= 32: no clip; the + 1 wraps at INT32_MAX.
  CHECK(run_unary("cvm_right_shift", {{"precision", "32"}, {"shift_bit", "1"}},
                  {3, -3, kMax, -kMax}) ==
        std::vector<int32_t>{2, -1, -1073741824, -1073741823});
  CHECK(run_unary("cvm_right_shift", {{"precision", "8"}, {"shift_bit", "24"}},
                  {kMax, 1 << 23, (1 << 23) - 1, -(1 << 30)}) ==
        std::vector<int32_t>{128, 1, 0, -64});
}

TEST_CASE("cvm_right_shift: precision rule and errors", "[elemwise]") {
  auto op = make_op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", "2"}});
  CHECK(out_precision(*op, {32}) == 8);
  CHECK(op->in_place_allowed());
  CHECK(error_code([] { make_op("cvm_right_shift", {{"precision", "8"}}); }) == 2);
  CHECK(error_code([] {
          make_op("cvm_right_shift", {{"precision", "8"}, {"shift_bit", "2"}, {"x", "1"}});
        }) == 2);
  for (auto bad : std::vector<AttrDict>{{{"precision", "0"}, {"shift_bit", "2"}},
                                        {{"precision", "33"}, {"shift_bit", "2"}},
                                        {{"precision", "8"}, {"shift_bit", "0"}},
                                        {{"precision", "8"}, {"shift_bit", "33"}}}) {
    auto o = make_op("cvm_right_shift", bad);
    CHECK(error_code([&] { out_precision(*o, {8}); }) == 1);
  }
}

TEST_CASE("cvm_left_shift: shift then clip (specification build)", "[elemwise]") {
  CHECK(run_unary("cvm_left_shift", {{"precision", "8"}, {"shift_bit", "2"}},
                  {1, 31, 32, -31, -32, -40, 0}) ==
        std::vector<int32_t>{4, 124, 127, -124, -127, -127, 0});
  CHECK(run_unary("cvm_left_shift", {{"precision", "32"}, {"shift_bit", "4"}},
                  {(1 << 27) - 1, -((1 << 27) - 1)}) ==
        std::vector<int32_t>{kMax - 15, -(kMax - 15)});
  auto op = make_op("cvm_left_shift", {{"precision", "12"}, {"shift_bit", "24"}});
  CHECK(out_precision(*op, {8}) == 12);
  CHECK(op->in_place_allowed());
}

TEST_CASE("cvm_left_shift: precision rule errors", "[elemwise]") {
  // Input precision + shift_bit > 32: the rule fails, a runtime-class error.
  auto op = make_op("cvm_left_shift", {{"precision", "12"}, {"shift_bit", "25"}});
  CHECK(error_code([&] { out_precision(*op, {8}); }) == 2);
  // Attribute ranges are checked first, code 1.
  auto zero = make_op("cvm_left_shift", {{"precision", "3"}, {"shift_bit", "0"}});
  CHECK(error_code([&] { out_precision(*zero, {16}); }) == 1);
  auto big = make_op("cvm_left_shift", {{"precision", "33"}, {"shift_bit", "30"}});
  CHECK(error_code([&] { out_precision(*big, {8}); }) == 1);
  CHECK(error_code([] { make_op("cvm_left_shift", {{"shift_bit", "1"}}); }) == 2);
}

TEST_CASE("nn.relu alias: checked like relu, then code 1", "[elemwise]") {
  auto op = make_op("nn.relu");
  CHECK(op->in_place_allowed());
  std::vector<Shape> in{{2, 2}}, out;
  op->infer_shape(in, out);
  CHECK(out == std::vector<Shape>{{2, 2}});
  CHECK(out_precision(*op, {8}) == 8);
  CHECK_FALSE(op->has_kernel());  // the model load then fails with code 1
  CHECK(make_op("relu")->has_kernel());
  CHECK(error_code([] { make_op("nn.relu", {{"x", "1"}}); }) == 1);
}
